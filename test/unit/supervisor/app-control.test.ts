// Operator intent through the /v1/apps routes, carried out by the real app control, intent store and catalog
// (an in-memory sqlite store); procs and the scaler are recorded instead of run.
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { appRoutes } from "../../../src/api/apps.ts";
import { decodeConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import type { AppSnapshot } from "../../../src/protocol/procs.ts";
import { createCatalog } from "../../../src/state/catalog.ts";
import { type AgentEvent, type EventInput, createEventBus } from "../../../src/state/event-bus.ts";
import { openStore, type Store } from "../../../src/state/store.ts";
import { createAppControl } from "../../../src/supervisor/app-control.ts";
import { createProcsLink } from "../../../src/supervisor/procs-link.ts";
import { recordingTelemetry } from "./link-fakes.ts";

function config(): Config {
  const r = decodeConfig(
    {
      apps: [
        { name: "web", command: "true", port: { range: [20000, 20010] }, replicas: { min: 1, max: 5 }, scaling: { metrics: [{ name: "cpu", target: 70 }], manual_pause: "2m" } },
        { name: "fixed", command: "true", replicas: 2 },
      ],
    },
    "test",
  );
  if (!r.ok) throw new Error(r.error.message);
  return r.config;
}

function rig(store: Store = openStore(":memory:")) {
  const cfg = config();
  const events: AgentEvent[] = [];
  const bus = createEventBus();
  bus.subscribe((e) => events.push(e));
  const catalog = createCatalog({ overrides: store.getKv("catalog.overrides") ?? {}, persist: (o) => store.putKv("catalog.overrides", o) });
  const hub = {
    config: () => cfg,
    cores: 2,
    catalog,
    publish: (e: EventInput) => void bus.publish(e),
    store,
    telemetry: recordingTelemetry().telemetry,
    send: () => {},
    drainEndpoint: async () => {},
    healthTargetsChanged: () => {},
    endpointHealth: () => ({ health: "passing" as const, output: "" }),
    replicasChanged: () => {},
  };
  const procs = createProcsLink(hub);
  procs.syncServices();
  const scaled: Array<[string, number]> = [];
  const scaler = { policyOf: (app: string) => (app === "web" ? ({} as never) : undefined), replicasChanged: () => {} };
  const control = createAppControl(hub, procs, scaler, async (app, n) => void scaled.push([app, n]));
  const snapshot = async (): Promise<AppSnapshot[]> =>
    cfg.apps.map((a) => {
      const desired = procs.desiredOf(a.name) ?? (a.name === "web" ? 1 : 2);
      return { name: a.name, desired, crashLoop: false, replicas: [] };
    });
  const api = new Hono().route("/v1/apps", appRoutes({
    snapshot,
    bounds: (app) => (app === "web" ? { min: 1, max: 5 } : app === "fixed" ? { min: 2, max: 2 } : undefined),
    control,
    rollingRestart: async () => ({ ok: true, replaced: 0 }),
    restartReplica: async () => {},
    reset: async () => {},
    logs: async () => [],
    follow: () => () => {},
  }));
  api.onError((e, c) => c.json({ code: (e as { code?: string }).code, message: e.message }, ((e as { status?: number }).status ?? 500) as 400));
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await api.request(path, { method, headers: { "content-type": "application/json" }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  return { store, procs, catalog, events, scaled, call };
}

describe("operator intent on apps", () => {
  test("a manual scale of an autoscaled app pauses autoscaling for the app's manual_pause and says so", async () => {
    const r = rig();
    const before = Date.now();
    const res = await r.call("POST", "/v1/apps/web/scale", { replicas: 3 });
    expect(res.status).toBe(202);
    expect(res.body.app).toBe("web");
    expect(res.body.replicas).toBe(3);
    expect(res.body.autoscaling.mode).toBe("paused");
    const until = Date.parse(res.body.autoscaling.paused_until);
    expect(until).toBeGreaterThanOrEqual(before + 120_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 120_000);
    expect(r.scaled).toEqual([["web", 3]]);
    expect(r.events.map((e) => e.type)).toContain("scaling.paused");
  });

  test("`for` overrides the pause window; {auto: true} hands control back", async () => {
    const r = rig();
    const res = await r.call("POST", "/v1/apps/web/scale", { replicas: 2, for: "30m" });
    expect(Date.parse(res.body.autoscaling.paused_until) - Date.now()).toBeGreaterThan(29 * 60_000);
    const back = await r.call("POST", "/v1/apps/web/scale", { auto: true });
    expect(back.status).toBe(202);
    expect(back.body.autoscaling).toEqual({ mode: "auto" });
    expect(r.events.map((e) => e.type)).toContain("scaling.resumed");
  });

  test("an app without autoscaling is in manual mode and cannot be handed back", async () => {
    const r = rig();
    const res = await r.call("POST", "/v1/apps/fixed/scale", { replicas: 2 });
    expect(res.body.autoscaling).toEqual({ mode: "manual" });
    const auto = await r.call("POST", "/v1/apps/fixed/scale", { auto: true });
    expect(auto.status).toBe(409);
    expect(auto.body.code).toBe("not_autoscaled");
  });

  test.each([
    [{ replicas: 9 }, 422, "out_of_range"],
    [{ replicas: 2, for: "soon" }, 400, "invalid_request"],
    [{ replicas: 2, for: "0s" }, 400, "invalid_request"],
    [{ auto: false }, 400, "invalid_request"],
    [{}, 400, "invalid_request"],
  ])("scale body %j -> %d %s, and nothing changes", async (body, status, code) => {
    const r = rig();
    const res = await r.call("POST", "/v1/apps/web/scale", body);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(r.scaled).toEqual([]);
    expect(r.procs.intents.get("web")).toEqual({});
  });

  test("stop scales to zero below min and start brings back the count it had; both are idempotent", async () => {
    const r = rig();
    await r.call("POST", "/v1/apps/web/scale", { replicas: 4 });
    const stop = await r.call("POST", "/v1/apps/web/stop");
    expect(stop.status).toBe(202);
    expect(stop.body.replicas).toBe(0);
    await r.call("POST", "/v1/apps/web/stop");
    const view = await r.call("GET", "/v1/apps/web");
    expect(view.body.state).toBe("stopped");
    expect(view.body.intent.stopped.previous).toBe(4);
    const start = await r.call("POST", "/v1/apps/web/start");
    expect(start.body.replicas).toBe(4);
    expect((await r.call("POST", "/v1/apps/web/start")).body.replicas).toBe(4);
    expect(r.scaled).toEqual([["web", 4], ["web", 0], ["web", 0], ["web", 4], ["web", 4]]);
    // No replica is ready in this rig: a started app that has not come up yet is degraded, no longer stopped.
    expect((await r.call("GET", "/v1/apps/web")).body.state).toBe("degraded");
  });

  test("a stop, a pause and maintenance survive a restart of the agent (same store)", async () => {
    const store = openStore(":memory:");
    const a = rig(store);
    await a.call("POST", "/v1/apps/web/scale", { replicas: 3 });
    await a.call("PUT", "/v1/apps/web/maintenance", { enable: true, reason: "disk swap" });
    await a.call("POST", "/v1/apps/fixed/stop");
    const b = rig(store);
    const web = (await b.call("GET", "/v1/apps/web")).body;
    expect(web.state).toBe("maintenance");
    expect(web.intent.replicas).toBe(3);
    expect(web.intent.autoscaling.mode).toBe("paused");
    expect(web.intent.maintenance.reason).toBe("disk swap");
    expect(b.procs.state().apps.find((s) => s.name === "web")?.replicas).toBe(3);
    expect(b.procs.state().apps.find((s) => s.name === "fixed")?.replicas).toBe(0);
    expect((await b.call("GET", "/v1/apps/fixed")).body.state).toBe("stopped");
  });

  test("maintenance takes the app's endpoints out of resolution and turning it off brings them back", async () => {
    const r = rig();
    r.catalog.upsertEndpoint("default", "web", { id: "web-0", address: "127.0.0.1", port: 20000, protocol: "http", weight: 1, metadata: {} });
    expect(r.catalog.resolve("web", "default")?.length).toBe(1);
    const on = await r.call("PUT", "/v1/apps/web/maintenance", { enable: true });
    expect(on.body.maintenance).toBe(true);
    expect(r.catalog.get("default", "web")?.maintenance).toBeDefined();
    expect(r.catalog.resolve("web", "default")).toEqual([]);
    const off = await r.call("PUT", "/v1/apps/web/maintenance", { enable: false });
    expect(off.body).toEqual({ app: "web", maintenance: false });
    expect(r.catalog.resolve("web", "default")?.length).toBe(1);
    expect(r.events.filter((e) => e.type === "app.maintenance").length).toBe(2);
  });

  test("a change that cannot be persisted is refused and nothing is done", async () => {
    const store = openStore(":memory:");
    const r = rig(store);
    store.close();
    const res = await r.call("POST", "/v1/apps/web/scale", { replicas: 3 });
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(r.scaled).toEqual([]);
    expect(r.procs.intents.get("web")).toEqual({});
  });
});
