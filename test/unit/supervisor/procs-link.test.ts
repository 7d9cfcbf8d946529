import { describe, expect, test } from "bun:test";
import type { ProcsEvent, ProcsEventInput } from "../../../src/procs/types.ts";
import type { ToProcs } from "../../../src/protocol/procs.ts";
import { createCatalog } from "../../../src/state/catalog.ts";
import { createHealthLink } from "../../../src/supervisor/health-link.ts";
import { createProcsLink } from "../../../src/supervisor/procs-link.ts";
import { waitFor } from "../../support/wait-for.ts";
import { configOf, memoryStore, recordingEvents, recordingTelemetry } from "./link-fakes.ts";

const APPS = {
  apps: [
    { name: "web", command: "true", replicas: 2, port: { range: [20000, 20009] }, checks: [{ name: "http", kind: "http", path: "/" }] },
    { name: "gated", command: "true", replicas: 1, port: { range: [20010, 20019] }, readiness: { kind: "check" }, checks: [{ name: "http", kind: "http", path: "/" }] },
    { name: "worker", command: "true", replicas: 1, port: { none: true } },
  ],
};

function setup(raw: unknown = APPS) {
  const config = configOf(raw);
  const catalog = createCatalog();
  const sent: ToProcs[] = [];
  const drained: string[] = [];
  const calls = { health: 0, replicas: [] as string[] };
  const { events, publish } = recordingEvents();
  const { telemetry, calls: metrics } = recordingTelemetry();
  const store = memoryStore();
  const link = createProcsLink({
    config: () => config,
    cores: 2,
    catalog,
    publish,
    store,
    telemetry,
    send: (m) => void sent.push(m),
    drainEndpoint: async (ns, svc, id) => void drained.push(`${ns}/${svc}/${id}`),
    healthTargetsChanged: () => void calls.health++,
    endpointHealth: (e) => health.healthOf(e),
    replicasChanged: (app) => void calls.replicas.push(app),
  });
  const health = createHealthLink({ config: () => config, catalog, publish, telemetry, send: () => {} }, () => link.readyReplicas());
  link.syncServices();
  const event = (e: ProcsEventInput) => link.handle({ t: "procs.event", event: { at: 0, ...e } as ProcsEvent });
  return { link, catalog, sent, drained, calls, events, store, event, metrics };
}

describe("procs link", () => {
  test("every app with a port has a service before any replica is ready; an app without one has none", () => {
    const s = setup();
    expect(s.catalog.list().map((x) => x.name).sort()).toEqual(["gated", "web"]);
  });

  test("a ready replica becomes a passing endpoint; its exit removes it and tells health and the scaler", () => {
    const s = setup();
    s.event({ type: "starting", app: "web", id: 0, port: 20000, attempt: 1, revision: 1 });
    s.event({ type: "ready", app: "web", id: 0, pid: 11, port: 20000, afterMs: 5 });
    expect(s.catalog.get("default", "web")!.endpoints.map((e) => [e.id, e.port, e.health])).toEqual([["web-0", 20000, "passing"]]);
    expect(s.link.readyReplicas("web")).toEqual([{ app: "web", id: 0, port: 20000, ready: true }]);
    expect(s.calls).toEqual({ health: 1, replicas: ["web"] });
    s.event({ type: "exited", app: "web", id: 0, pid: 11, code: 1, signal: null, reason: "exit-failure", upMs: 10 });
    expect(s.catalog.get("default", "web")!.endpoints).toEqual([]);
    expect(s.link.readyReplicas()).toEqual([]);
    expect(s.calls.replicas).toEqual(["web", "web"]);
  });

  test("a replica gated on its check enters the catalog critical until the check passes", () => {
    const s = setup();
    s.event({ type: "ready", app: "gated", id: 0, pid: 12, port: 20010, afterMs: 5 });
    expect(s.catalog.get("default", "gated")!.endpoints[0]!.health).toBe("critical");
  });

  test("a stats batch that arrives after a replica stopped does not bring its forgotten series back", () => {
    const s = setup();
    s.event({ type: "starting", app: "web", id: 0, port: 20000, attempt: 1, revision: 1 });
    s.event({ type: "ready", app: "web", id: 0, pid: 11, port: 20000, afterMs: 5 });
    const stats = { t: "procs.stats", batch: [{ app: "web", id: 0, pid: 11, cpuPercent: 5, rssBytes: 1000, processes: 1 }] } as const;
    s.link.handle(stats as never);
    expect(s.metrics.filter((c) => c[0] === "procStats").length).toBe(1);
    s.event({ type: "stopped", app: "web", id: 0, pid: 11, forced: false, reason: "scale-down" });
    expect(s.metrics.some((c) => c[0] === "forget")).toBe(true);
    s.link.handle(stats as never);
    expect(s.metrics.filter((c) => c[0] === "procStats").length).toBe(1);
  });

  test("a spawned replica is recorded for adoption, and forgotten when it stops", () => {
    const s = setup();
    s.event({ type: "starting", app: "web", id: 1, port: 20001, attempt: 1, revision: 1 });
    s.event({ type: "spawned", app: "web", id: 1, pid: 42, startTime: 777 });
    expect(s.store.replicas()).toEqual([{ app: "web", id: "1", pid: 42, startTime: 777, port: 20001 }]);
    expect(s.link.state().adopt).toEqual([{ app: "web", id: 1, pid: 42, startTime: 777, port: 20001 }]);
    s.event({ type: "stopped", app: "web", id: 1, pid: 42, forced: false, reason: "scale-down" });
    expect(s.store.replicas()).toEqual([]);
  });

  test("a drain hook drains the replica's endpoint and then answers the hook", async () => {
    const s = setup();
    const replica = { app: "web", id: 0, pid: 11, port: 20000, state: "ready", restarts: 0, startedAt: 0, startTime: 0, adopted: false, cpuPercent: 0, rssBytes: 0, lastExit: null, revision: 1 } as const;
    s.link.handle({ t: "procs.hook", hook: 7, kind: "drain", replica });
    await waitFor(() => s.sent.find((m) => m.t === "procs.hook-done"), { what: "hook-done" });
    expect(s.drained).toEqual(["default/web/web-0"]);
    expect(s.sent).toContainEqual({ t: "procs.hook-done", hook: 7 });
  });

  test("run-time replica counts survive a re-apply, within the app's bounds", () => {
    const s = setup();
    s.link.setDesired("web", 5);
    s.link.apply();
    const applied = s.sent.find((m) => m.t === "procs.apply");
    expect(applied && applied.t === "procs.apply" ? applied.apps.find((a) => a.name === "web")!.replicas : undefined).toBe(2);
  });

  test("a message for another worker is not handled", () => {
    const s = setup();
    expect(s.link.handle({ t: "health.summary" } as never)).toBe(false);
  });

  test("restarts count only unplanned ones (at restarting, with why it ended); planned stops are counted apart", () => {
    const s = setup();
    const counted = () => s.metrics.filter(([m]) => m === "restart" || m === "plannedStop");
    // A rolling restart and a scale-down: planned stops, then exits the agent asked for, never restarts.
    s.event({ type: "stopping", app: "web", id: 0, pid: 11, signal: "SIGTERM", reason: "rolling-restart" });
    s.event({ type: "exited", app: "web", id: 0, pid: 11, code: 0, signal: "SIGTERM", reason: "stop-requested", upMs: 10 });
    s.event({ type: "stopping", app: "web", id: 1, pid: 12, signal: "SIGTERM", reason: "scale-down" });
    // A crash: the exit and the restart decision; and a kill for the memory limit, which is unplanned.
    s.event({ type: "exited", app: "web", id: 2, pid: 13, code: 1, signal: null, reason: "exit-failure", upMs: 10 });
    s.event({ type: "restarting", app: "web", id: 2, delayMs: 100, reason: "exit-failure" });
    s.event({ type: "stopping", app: "web", id: 3, pid: 14, signal: "SIGTERM", reason: "memory-limit" });
    s.event({ type: "restarting", app: "web", id: 3, delayMs: 100, reason: "memory-limit" });
    expect(counted()).toEqual([
      ["plannedStop", "web", "rolling-restart"],
      ["plannedStop", "web", "scale-down"],
      ["restart", "web", "exit-failure"],
      ["restart", "web", "memory-limit"],
    ]);
  });

  test("a stop or restart reason outside its union does not compile (reasons are tagged values, not free text)", () => {
    const s = setup();
    // @ts-expect-error "scaled-down" is no StopReason or KillCause
    s.event({ type: "stopping", app: "web", id: 0, pid: 11, signal: "SIGTERM", reason: "scaled-down" });
    // @ts-expect-error "crashed" is no restart policy Reason
    s.event({ type: "restarting", app: "web", id: 0, delayMs: 1, reason: "crashed" });
    // @ts-expect-error "stopped by operator" is free text
    s.event({ type: "stopped", app: "web", id: 0, pid: 11, forced: false, reason: "stopped by operator" });
    // At run time a reason no union names is not counted as a planned stop either.
    expect(s.metrics.filter(([m]) => m === "plannedStop")).toEqual([]);
  });

  test("a ready hook is answered without re-adding the endpoint: the ready event owns that (contrast: an exited replica stays out)", async () => {
    const s = setup();
    s.event({ type: "ready", app: "web", id: 0, pid: 11, port: 20000, afterMs: 5 });
    s.event({ type: "exited", app: "web", id: 0, pid: 11, code: 1, signal: null, reason: "exit-failure", upMs: 10 });
    const replica = { app: "web", id: 0, pid: 11, port: 20000, state: "ready", restarts: 0, startedAt: 0, startTime: 0, adopted: false, cpuPercent: 0, rssBytes: 0, lastExit: null, revision: 1 } as const;
    s.link.handle({ t: "procs.hook", hook: 9, kind: "ready", replica });
    await waitFor(() => s.sent.find((m) => m.t === "procs.hook-done"), { what: "hook-done" });
    expect(s.catalog.get("default", "web")!.endpoints).toEqual([]);
  });

  test.each([
    ["stop-requested", "info"],
    ["exit-failure", "warning"],
    ["memory-limit", "warning"],
  ] as const)("an exit for %s is published as %s", (reason, severity) => {
    const s = setup();
    s.event({ type: "exited", app: "web", id: 0, pid: 11, code: 0, signal: null, reason, upMs: 10 });
    expect(s.events.find((e) => e.type === "proc.exited")!.severity).toBe(severity);
  });
});
