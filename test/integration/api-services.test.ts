// The service catalog and checks API on the compiled binary: registration, persistence, selectors, resolve, ownership,
// app services with replica endpoints, TTL checks, command-check policy, history and the health summary.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson, type Json, send, startDemoAgent } from "./api-support.ts";

const staticService = { name: "legacy-db", namespace: "infra", labels: { tier: "db" }, endpoints: [{ address: "127.0.0.1", port: 5432 }] };

describe("services and checks API on a running agent", () => {
  let agent: RunningAgent;
  beforeAll(async () => {
    agent = await startDemoAgent({ config: { services: [staticService] } });
  }, 60_000);
  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
  }, 60_000);

  test("an app's service appears by itself with one passing endpoint per ready replica", async () => {
    const svc = await getJson(agent, "/v1/services/default/demo");
    expect(svc.source).toBe("app");
    const apps = await getJson(agent, "/v1/apps");
    const ports = (apps.apps[0].replicas as Json[]).filter((r) => r.state === "ready").map((r) => r.port).sort();
    expect((svc.endpoints as Json[]).map((e) => e.port).sort()).toEqual(ports);
    expect((svc.endpoints as Json[]).every((e) => e.metadata.app === "demo")).toBe(true);
  }, 60_000);

  test("PUT registers a service; GET lists it by namespace and by label selector; resolve returns passing endpoints unless all=true", async () => {
    const put = await send(agent, "PUT", "/v1/services/shop/cart", {
      labels: { tier: "web", env: "prod" },
      endpoints: [
        { id: "up", address: "127.0.0.1", port: 7001, health: "passing", weight: 3 },
        { id: "down", address: "127.0.0.1", port: 7002, health: "critical" },
      ],
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: "cart", namespace: "shop", source: "api" });
    await send(agent, "PUT", "/v1/services/shop/search", { labels: { tier: "api" }, endpoints: [{ address: "127.0.0.1", port: 7003 }] });

    const inShop = await getJson(agent, "/v1/services?namespace=shop");
    expect((inShop.services as Json[]).map((s) => s.name).sort()).toEqual(["cart", "search"]);
    const web = await getJson(agent, `/v1/services?selector=${encodeURIComponent("tier=web,env=prod")}`);
    expect((web.services as Json[]).map((s) => `${s.namespace}/${s.name}`)).toEqual(["shop/cart"]);
    const notWeb = await getJson(agent, `/v1/services?selector=${encodeURIComponent("tier!=web")}`);
    expect((notWeb.services as Json[]).map((s) => s.name)).not.toContain("cart");

    const resolved = await getJson(agent, "/v1/services/shop/cart/resolve");
    expect((resolved.endpoints as Json[]).map((e) => e.id)).toEqual(["up"]);
    const all = await getJson(agent, "/v1/services/shop/cart/resolve?all=true");
    expect((all.endpoints as Json[]).map((e) => e.id).sort()).toEqual(["down", "up"]);
  }, 60_000);

  test("a bad label selector is a 400 naming the selector", async () => {
    const r = await send(agent, "GET", `/v1/services?selector=${encodeURIComponent("tier in (")}`);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe("invalid_selector");
  }, 60_000);

  test("DELETE deregisters an API service; a second DELETE is 404", async () => {
    await send(agent, "PUT", "/v1/services/tmp/gone", { endpoints: [{ address: "127.0.0.1", port: 7100 }] });
    const del = await send(agent, "DELETE", "/v1/services/tmp/gone");
    expect(del.status).toBe(200);
    expect((await send(agent, "GET", "/v1/services/tmp/gone")).status).toBe(404);
    expect((await send(agent, "DELETE", "/v1/services/tmp/gone")).status).toBe(404);
  }, 60_000);

  test("a config-owned or app-owned service can be neither deleted nor replaced through the API (409)", async () => {
    for (const path of ["/v1/services/infra/legacy-db", "/v1/services/default/demo"]) {
      const del = await send(agent, "DELETE", path);
      expect(del.status).toBe(409);
      expect(del.body.code).toBe("conflict");
      const put = await send(agent, "PUT", path, { endpoints: [] });
      expect(put.status).toBe(409);
    }
    expect((await getJson(agent, "/v1/services/infra/legacy-db")).source).toBe("config");
  }, 60_000);

  test("GET /v1/checks lists the app's check once per replica, with the app named", async () => {
    const apps = await getJson(agent, "/v1/apps");
    const replicaIds = (apps.apps[0].replicas as Json[]).map((r) => r.id).sort();
    const checks = ((await getJson(agent, "/v1/checks")).checks as Json[]).filter((c) => c.app === "demo");
    expect(checks.map((c) => c.id).sort()).toEqual(replicaIds.map((id) => `demo:${id}:http`).sort());
    expect(checks.every((c) => c.kind === "http" && c.source === "app")).toBe(true);
  }, 60_000);

  test("a TTL check created through the API goes critical when nobody pushes, and passing after PUT /pass", async () => {
    const created = await send(agent, "POST", "/v1/checks", { name: "batch-job", kind: "ttl", ttl: "1s" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: "batch-job", kind: "ttl", source: "api" });
    await waitFor(async () => (await getJson(agent, "/v1/checks/batch-job")).status === "critical", { what: "ttl check critical" });
    const summary = await getJson(agent, "/v1/health/summary");
    expect((summary.failing as Json[]).map((c) => c.id)).toContain("batch-job");
    expect(summary.critical).toBeGreaterThanOrEqual(1);

    const pass = await send(agent, "PUT", "/v1/checks/batch-job/pass", { note: "nightly run ok" });
    expect(pass.status).toBe(200);
    await waitFor(async () => (await getJson(agent, "/v1/checks/batch-job")).status === "passing", { what: "ttl check passing" });
    const history = await getJson(agent, "/v1/checks/batch-job/history");
    expect(history.id).toBe("batch-job");
    expect((history.results as Json[]).map((r) => r.status)).toContain("critical");
  }, 60_000);

  test("pushing to a check that is not a TTL check is a 409, to an unknown check a 404", async () => {
    const [first] = ((await getJson(agent, "/v1/checks")).checks as Json[]).filter((c) => c.app === "demo");
    expect((await send(agent, "PUT", `/v1/checks/${first!.id}/pass`, {})).status).toBe(409);
    expect((await send(agent, "PUT", "/v1/checks/nope/pass", {})).status).toBe(404);
  }, 60_000);

  test("GET /v1/checks/:id/history of an app check returns its results", async () => {
    const [first] = ((await getJson(agent, "/v1/checks")).checks as Json[]).filter((c) => c.app === "demo" && c.status === "passing");
    const h = await waitFor(async () => {
      const r = await getJson(agent, `/v1/checks/${encodeURIComponent(first!.id)}/history`);
      return (r.results as Json[]).length > 0 ? r : undefined;
    });
    expect(h.results[0]).toMatchObject({ status: "passing" });
    expect(typeof h.results[0].latencyMs).toBe("number");
  }, 60_000);

  test("a command check cannot be created through the API by default (403), and nothing is created", async () => {
    const r = await send(agent, "POST", "/v1/checks", { name: "run-true", kind: "command", command: "/bin/true", interval: "1s", timeout: "500ms" });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain("allow_api_command_checks");
    expect((await send(agent, "GET", "/v1/checks/run-true")).status).toBe(404);
  }, 60_000);

  test("GET /v1/health/summary counts add up to the checks listed", async () => {
    const s = await getJson(agent, "/v1/health/summary");
    const n = ((await getJson(agent, "/v1/checks")).checks as Json[]).length;
    expect(s.total).toBe(n);
    expect(s.passing + s.warning + s.critical + s.pending).toBe(s.total);
  }, 60_000);
});

describe("persistence across restarts", () => {
  test("an API registration and an API check survive an agent restart on the same data_dir; command checks work when allowed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-persist-"));
    const data = join(dir, "data");
    try {
      {
        await using first = await startAgent({ config: { agent: { data_dir: data } } });
        expect((await send(first, "PUT", "/v1/services/ops/cache", { labels: { kind: "kv" }, endpoints: [{ address: "127.0.0.1", port: 6379 }] })).status).toBe(200);
        expect((await send(first, "POST", "/v1/checks", { name: "heartbeat", kind: "ttl", ttl: "30s" })).status).toBe(201);
      }
      await using second = await startAgent({ config: { agent: { data_dir: data }, api: { allow_api_command_checks: true } } });
      const svc = await getJson(second, "/v1/services/ops/cache");
      expect(svc).toMatchObject({ name: "cache", namespace: "ops", source: "api", labels: { kind: "kv" } });
      expect(svc.endpoints[0]).toMatchObject({ address: "127.0.0.1", port: 6379 });
      expect((await getJson(second, "/v1/checks/heartbeat")).source).toBe("api");

      const cmd = await send(second, "POST", "/v1/checks", { name: "run-true", kind: "command", command: "/bin/true", interval: "1s", timeout: "500ms" });
      expect(cmd.status).toBe(201);
      await waitFor(async () => (await getJson(second, "/v1/checks/run-true")).status === "passing", { what: "command check passing" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
