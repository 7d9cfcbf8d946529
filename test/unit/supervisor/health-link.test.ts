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
  catalog.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {}, endpoints: [{ id: "web-0", address: "127.0.0.1", port: 20000, protocol: "http", weight: 1, metadata: {} }] }, "app");
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

  test.each([
    [[], false, "passing"],
    [[], true, "critical"],
    [["passing", "warning"], true, "warning"],
    [["passing", "critical", "warning"], false, "critical"],
  ] as const)("statuses %j, waiting %s -> %s", (statuses, waiting, expected) => {
    expect(deriveHealth(statuses.map((status) => ({ status, output: status })), waiting).health).toBe(expected);
  });
});
