// pool: which endpoints pickers see and at what weight; panic mode; slow start; connection limits.
import { describe, expect, test } from "bun:test";
import { type EndpointRecord, atLimit, buildPool, pickAdmitted } from "../../../../src/core/balancing/pool.ts";
import { createConsistentHash } from "../../../../src/core/balancing/consistent-hash.ts";
import { createRoundRobin } from "../../../../src/core/balancing/round-robin.ts";

const NOW = 100_000;

function rec(id: string, over: Partial<EndpointRecord> = {}): EndpointRecord {
  return { id, address: "127.0.0.1", port: 9000, weight: 10, health: "passing", draining: false, active: 0, ...over };
}

describe("pool eligibility", () => {
  const healthy = [rec("h1"), rec("h2"), rec("h3"), rec("h4")];
  const table: Array<[string, Partial<EndpointRecord>, number | null]> = [
    ["passing", {}, 10],
    ["warning at half weight", { health: "warning" }, 5],
    ["critical", { health: "critical" }, null],
    ["draining", { draining: true }, null],
    ["ejected until later", { ejectedUntil: NOW + 1 }, null],
    ["ejection ended", { ejectedUntil: NOW }, 10],
    ["weight 0", { weight: 0 }, null],
  ];
  for (const [what, over, weight] of table) {
    test(`${what} -> ${weight === null ? "excluded" : `weight ${weight}`}`, () => {
      const view = buildPool([...healthy, rec("x", over)], NOW);
      const x = view.endpoints.find((e) => e.id === "x");
      if (weight === null) expect(x).toBeUndefined();
      else expect(x?.weight).toBe(weight);
      expect(view.panic).toBe(false);
    });
  }

  test("the warning factor is configurable", () => {
    const view = buildPool([rec("a", { health: "warning" })], NOW, { warningWeightFactor: 0.2 });
    expect(view.endpoints[0]!.weight).toBe(2);
  });

  test("eligible endpoints point back at their record, and active writes through", () => {
    const records = [rec("a", { health: "critical" }), rec("b"), rec("c")];
    const view = buildPool(records, NOW);
    expect(view.endpoints.map((e) => e.source)).toEqual([1, 2]);
    view.endpoints[0]!.active += 3;
    expect(records[1]!.active).toBe(3);
  });
});

describe("panic mode", () => {
  test("below the threshold, every non-draining endpoint takes traffic at full weight", () => {
    const records = [
      rec("a"),
      rec("b", { health: "critical" }),
      rec("c", { ejectedUntil: NOW + 5_000 }),
      rec("d", { health: "warning" }),
      rec("e", { draining: true }),
      rec("f", { health: "critical" }),
    ];
    const view = buildPool(records, NOW);
    expect(view.panic).toBe(true);
    expect(view.healthyPercent).toBe(40);
    expect(view.endpoints.map((e) => [e.id, e.weight])).toEqual([["a", 10], ["b", 10], ["c", 10], ["d", 10], ["f", 10]]);
    expect(view.refreshAt).toBe(NOW + 5_000);
  });

  test("contrast: at exactly the threshold there is no panic", () => {
    const view = buildPool([rec("a"), rec("b", { health: "critical" })], NOW);
    expect(view.panic).toBe(false);
    expect(view.endpoints.map((e) => e.id)).toEqual(["a"]);
  });

  test("a threshold of 0 disables panic: all unhealthy means an empty pool", () => {
    const view = buildPool([rec("a", { health: "critical" })], NOW, { panicThresholdPercent: 0 });
    expect(view.endpoints).toEqual([]);
  });

  test("draining endpoints stay out even in panic", () => {
    const view = buildPool([rec("a", { draining: true }), rec("b", { health: "critical" })], NOW);
    expect(view.endpoints.map((e) => e.id)).toEqual(["b"]);
  });
});

describe("slow start", () => {
  const slowStart = { windowMs: 60_000, aggression: 1, minWeightPercent: 10, stepMs: 1_000 };
  const table: Array<[string, Partial<EndpointRecord>, number]> = [
    ["just added: min weight", { addedAt: NOW }, 1],
    ["a quarter in: min weight still wins", { addedAt: NOW - 6_000 }, 1],
    ["half way", { addedAt: NOW - 30_000 }, 5],
    ["recovered half way (recoveredAt wins over an old addedAt)", { addedAt: 0, recoveredAt: NOW - 30_000 }, 5],
    ["window over", { addedAt: NOW - 60_000 }, 10],
    ["no addedAt: present at boot", {}, 10],
  ];
  for (const [what, over, weight] of table) {
    test(`${what} -> weight ${weight}`, () => {
      const view = buildPool([rec("a", over)], NOW, { slowStart });
      expect(view.endpoints[0]!.weight).toBeCloseTo(weight, 6);
    });
  }

  test("aggression above 1 ramps faster early on", () => {
    const view = buildPool([rec("a", { addedAt: NOW - 15_000 })], NOW, { slowStart: { ...slowStart, aggression: 2 } });
    expect(view.endpoints[0]!.weight).toBeCloseTo(5, 6); // sqrt(0.25) = 0.5
  });

  test("asks to be rebuilt at the next step while ramping", () => {
    const view = buildPool([rec("a", { addedAt: NOW - 59_500 })], NOW, { slowStart });
    expect(view.refreshAt).toBe(NOW + 500);
  });
});

describe("connection limits", () => {
  test("atLimit reads the live count against maxConnections; 0 means unlimited", () => {
    const view = buildPool([rec("a", { maxConnections: 2, active: 2 }), rec("b", { maxConnections: 0, active: 99 })], NOW);
    expect(view.endpoints.map(atLimit)).toEqual([true, false]);
  });

  test("pickAdmitted skips a full endpoint and restores the key", () => {
    const records = [rec("a", { maxConnections: 1, active: 1 }), rec("b"), rec("c")];
    const view = buildPool(records, NOW);
    const p = createRoundRobin();
    p.update(view.endpoints);
    const ctx = { hash: 42 };
    expect(pickAdmitted(p, ctx, view.endpoints)).toBe(1);
    expect(ctx.hash).toBe(42);
  });

  test("a keyed policy moves off a full endpoint by re-hashing", () => {
    const records = [rec("a"), rec("b"), rec("c"), rec("d")];
    const view = buildPool(records, NOW);
    const p = createConsistentHash();
    p.update(view.endpoints);
    const ctx = { hash: 123_456 };
    const home = p.pick(ctx);
    records[home]!.active = 5;
    (records[home] as { maxConnections?: number }).maxConnections = 5;
    const chosen = pickAdmitted(p, ctx, view.endpoints, 8);
    expect(chosen).toBeGreaterThanOrEqual(0);
    expect(chosen).not.toBe(home);
  });

  test("when every attempt finds a full endpoint, the answer is -1 (overflow)", () => {
    const view = buildPool([rec("a", { maxConnections: 1, active: 1 }), rec("b", { maxConnections: 1, active: 1 })], NOW);
    const p = createRoundRobin();
    p.update(view.endpoints);
    expect(pickAdmitted(p, { hash: 0 }, view.endpoints)).toBe(-1);
  });
});

describe("backup endpoints", () => {
  const ids = (v: ReturnType<typeof buildPool>) => v.endpoints.map((e) => e.id);
  const table: Array<[string, EndpointRecord[], boolean, string[]]> = [
    ["a passing primary keeps the backups idle", [rec("p1"), rec("p2", { health: "critical" }), rec("b1", { backup: true })], false, ["p1"]],
    ["every primary critical: the backups serve", [rec("p1", { health: "critical" }), rec("p2", { health: "critical" }), rec("b1", { backup: true })], true, ["b1"]],
    ["every primary ejected or draining: the backups serve", [rec("p1", { ejectedUntil: NOW + 5 }), rec("p2", { draining: true }), rec("b1", { backup: true })], true, ["b1"]],
    ["no primary at all: the backups serve", [rec("b1", { backup: true }), rec("b2", { backup: true })], true, ["b1", "b2"]],
    ["no usable backup: the primaries stay (in panic) rather than nothing", [rec("p1", { health: "critical" }), rec("b1", { backup: true, draining: true })], false, ["p1"]],
  ];
  for (const [what, records, onBackup, expected] of table) {
    test(what, () => {
      const v = buildPool(records, NOW);
      expect(v.onBackup).toBe(onBackup);
      expect(ids(v)).toEqual(expected);
    });
  }

  test("failover routes to the backups although a primary is passing; without backups it changes nothing", () => {
    const v = buildPool([rec("p1"), rec("b1", { backup: true }), rec("b2", { backup: true, health: "critical" })], NOW, { failover: true });
    expect(v.onBackup).toBe(true);
    expect(ids(v)).toEqual(["b1"]);
    expect(buildPool([rec("p1")], NOW, { failover: true }).onBackup).toBe(false);
  });

  test("an ejected primary's ejection end makes the view stale, so traffic can move back to it", () => {
    const v = buildPool([rec("p1", { ejectedUntil: NOW + 5 }), rec("b1", { backup: true })], NOW);
    expect(v.refreshAt).toBe(NOW + 5);
    expect(ids(buildPool([rec("p1", { ejectedUntil: NOW + 5 }), rec("b1", { backup: true })], NOW + 5))).toEqual(["p1"]);
  });
});
