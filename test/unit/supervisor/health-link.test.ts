import { describe, expect, test } from "bun:test";
import type { ToHealth } from "../../../src/protocol/health.ts";
import { createCatalog } from "../../../src/state/catalog.ts";
import { createHealthLink, deriveHealth } from "../../../src/supervisor/health-link.ts";
import type { ReplicaView } from "../../../src/supervisor/procs-link.ts";
import { configOf, recordingEvents, recordingTelemetry } from "./link-fakes.ts";

const RAW = {
  apps: [{ name: "web", command: "true", replicas: 1, port: { range: [20000, 20009] }, checks: [{ name: "http", kind: "http", path: "/" }, { name: "tcp", kind: "tcp" }] }],
  checks: [{ name: "beat", kind: "ttl", ttl: "1m" }],
};

function setup(raw: unknown = RAW) {
  let config = configOf(raw);
  const catalog = createCatalog();
  catalog.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {}, endpoints: [{ id: "web-0", address: "127.0.0.1", port: 20000, protocol: "http", weight: 1, metadata: { app: "web", replica: "0" } }] }, "app");
  const replicas: ReplicaView[] = [{ app: "web", id: 0, port: 20000, ready: true }];
  const sent: ToHealth[] = [];
  const { events, publish } = recordingEvents();
  const { telemetry } = recordingTelemetry();
  const link = createHealthLink({ config: () => config, catalog, publish, telemetry, send: (m) => void sent.push(m) }, () => replicas);
  const changed = (checkId: string, to: "passing" | "warning" | "critical", output = "") =>
    link.handle({ t: "health.changed", checkId, from: null, to, output, latencyMs: 1, flapping: false });
  const health = () => catalog.get("default", "web")!.endpoints[0]!.health;
  const reload = (next: unknown) => {
    config = configOf(next);
    link.changed();
    link.flush();
  };
  return { link, catalog, sent, events, changed, health, reload };
}

describe("health link", () => {
  test("the desired checks are the standalone ones plus each app check per ready replica", () => {
    const s = setup();
    expect(s.link.state().checks.map((c) => c.id).sort()).toEqual(["beat", "web:0:http", "web:0:tcp"]);
  });

  test("an endpoint's health is the worst of its checks' statuses", () => {
    const s = setup();
    s.link.state();
    s.changed("web:0:http", "passing");
    s.changed("web:0:tcp", "warning");
    expect(s.health()).toBe("warning");
    s.changed("web:0:http", "critical", "refused");
    expect(s.health()).toBe("critical");
    s.changed("web:0:http", "passing");
    expect(s.health()).toBe("warning");
  });

  test("a standalone check's transition is an event but touches no endpoint", () => {
    const s = setup();
    s.link.state();
    s.changed("beat", "critical", "no beat");
    expect(s.health()).toBe("passing");
    expect(s.events.map((e) => [e.type, e.target, e.severity])).toEqual([["health.changed", "beat", "error"]]);
  });

  test("changes are coalesced into one push of the whole set", async () => {
    const s = setup();
    s.link.changed();
    s.link.changed();
    await Promise.resolve();
    expect(s.sent.filter((m) => m.t === "health.set").length).toBe(1);
  });

  test("an invalid check is reported as an event naming its fields", () => {
    const s = setup();
    s.link.handle({ t: "health.invalid", checkId: "beat", errors: [{ field: "ttl", message: "too short" }] });
    expect(s.events[0]).toMatchObject({ type: "health.invalid", target: "beat", message: "check beat rejected: ttl: too short" });
  });

  test("an endpoint made critical by a check is passing again once a reload removes that check", () => {
    const s = setup();
    s.link.state();
    s.changed("web:0:http", "critical", "refused");
    expect(s.health()).toBe("critical");
    s.reload({ ...RAW, apps: [{ ...RAW.apps[0]!, checks: [{ name: "tcp", kind: "tcp" }] }] });
    // The tcp check has not run yet: it does not count, and nothing else says the endpoint is unhealthy.
    expect(s.health()).toBe("passing");
    s.changed("web:0:tcp", "warning");
    expect(s.health()).toBe("warning");
    s.reload({ ...RAW, apps: [{ ...RAW.apps[0]!, checks: [] }] });
    expect(s.health()).toBe("passing");
  });

  test("a replica gated on its checks stays critical until one has run, also after a reload swaps its checks (contrast)", () => {
    const gated = { ...RAW, apps: [{ ...RAW.apps[0]!, readiness: { kind: "check" } }] };
    const s = setup(gated);
    s.link.state();
    s.changed("web:0:http", "passing");
    expect(s.health()).toBe("passing");
    s.reload({ ...gated, apps: [{ ...gated.apps[0]!, checks: [{ name: "other", kind: "tcp" }] }] });
    expect(s.health()).toBe("critical");
  });

  test("an app's checks follow its catalog endpoints: one added or removed there adds or drops its checks, with nothing else told", async () => {
    const s = setup();
    s.link.state();
    s.catalog.upsertEndpoint("default", "web", { id: "web-1", address: "127.0.0.1", port: 20001, protocol: "http", weight: 1, metadata: { app: "web", replica: "1" } });
    await Promise.resolve();
    const pushed = () => (s.sent.filter((m) => m.t === "health.set").at(-1) as Extract<ToHealth, { t: "health.set" }>).checks;
    expect(pushed().map((c) => [c.id, c.target]).sort()).toEqual([
      ["beat", ""],
      ["web:0:http", "http://127.0.0.1:20000"],
      ["web:0:tcp", "127.0.0.1:20000"],
      ["web:1:http", "http://127.0.0.1:20001"],
      ["web:1:tcp", "127.0.0.1:20001"],
    ]);
    s.catalog.removeEndpoint("default", "web", "web-0");
    await Promise.resolve();
    expect(pushed().map((c) => c.id).sort()).toEqual(["beat", "web:1:http", "web:1:tcp"]);
  });

  test("the contrast: an endpoint registered under the app's service that is no local replica of it gets no app checks", () => {
    const s = setup();
    s.catalog.upsertEndpoint("default", "web", { id: "extra", address: "127.0.0.1", port: 20005, protocol: "http", weight: 1, metadata: { replica: "5" } });
    // Another node's replica of the same app is that node's to check.
    s.catalog.applyRemote([{ namespace: "default", service: "web", labels: {}, endpoint: { id: "web-1", address: "10.0.0.2", port: 20001, protocol: "http", weight: 1, metadata: { app: "web", replica: "1" }, health: "passing", draining: false, node: "n2", zone: "" } }], [], false);
    expect(s.catalog.get("default", "web")!.endpoints.map((e) => e.id)).toEqual(["web-0", "extra", "web-1@n2"]);
    expect(s.link.state().checks.map((c) => c.id).sort()).toEqual(["beat", "web:0:http", "web:0:tcp"]);
  });

  test("replicas sharing a port have one endpoint and so one set of checks, decided for that endpoint", () => {
    const raw = { apps: [{ name: "web", command: "true", replicas: 3, port: { shared: 20100 }, checks: [{ name: "tcp", kind: "tcp" }] }] };
    const s = setup(raw);
    s.catalog.removeEndpoint("default", "web", "web-0");
    s.catalog.upsertEndpoint("default", "web", { id: "web-shared", address: "127.0.0.1", port: 20100, protocol: "http", weight: 1, metadata: { app: "web", replica: "2" } });
    expect(s.link.state().checks.map((c) => [c.id, c.target])).toEqual([["web:shared:tcp", "127.0.0.1:20100"]]);
    s.changed("web:shared:tcp", "critical", "refused");
    expect(s.catalog.get("default", "web")!.endpoints[0]!.health).toBe("critical");
  });

  test("an app without a port has no endpoint: its ready replicas (from the procs link) get its checks, deciding no endpoint", () => {
    const raw = { apps: [{ name: "worker", command: "true", replicas: 2, port: { none: true }, checks: [{ name: "alive", kind: "file", path: "/tmp/alive" }] }] };
    const catalog = createCatalog();
    const { publish } = recordingEvents();
    const { telemetry } = recordingTelemetry();
    const ready: ReplicaView[] = [{ app: "worker", id: 0, port: null, ready: true }, { app: "worker", id: 1, port: null, ready: true }, { app: "web", id: 0, port: 20000, ready: true }];
    const link = createHealthLink({ config: () => configOf(raw), catalog, publish, telemetry, send: () => {} }, () => ready);
    expect(link.state().checks.map((c) => [c.id, c.target])).toEqual([["worker:0:alive", "/tmp/alive"], ["worker:1:alive", "/tmp/alive"]]);
    expect([...link.checks().values()].every((m) => m.endpoint === undefined)).toBe(true);
  });

  test.each([
    [[], false, "passing"],
    [[], true, "critical"],
    [["passing", "warning"], true, "warning"],
    [["passing", "critical", "warning"], false, "critical"],
  ] as const)("statuses %j, waiting %s -> %s", (statuses, waiting, expected) => {
    expect(deriveHealth(statuses.map((status) => ({ status, output: status })), waiting).health).toBe(expected);
  });
});
