import { describe, expect, test } from "bun:test";
import { localityWeights, tierLoads, tierOf } from "../../../../src/core/cluster/locality.ts";

const local = { node: "a", zone: "z1" };
const m = (node: string | undefined, zone: string, health: "passing" | "critical" = "passing", weight = 1) => ({ ...(node ? { node } : {}), zone, weight, health, draining: false });

describe("locality tiers", () => {
  test.each([
    [undefined, "", "node", 0],
    ["a", "z1", "node", 0],
    ["b", "z1", "node", 1],
    ["c", "z2", "node", 2],
    ["b", "z1", "zone", 0],
    ["c", "z2", "zone", 1],
    ["c", "z2", "none", 0],
  ] as const)("node %s zone %s with prefer %s is tier %d", (node, zone, prefer, tier) => {
    expect(tierOf({ ...(node ? { node } : {}), zone }, local, prefer)).toBe(tier);
  });

  test.each([
    // Envoy's table: healthy share x 1.4, the rest spills to the next tier.
    [[{ healthy: 10, total: 10 }, { healthy: 10, total: 10 }], [100, 0]],
    [[{ healthy: 8, total: 10 }, { healthy: 10, total: 10 }], [100, 0]],
    [[{ healthy: 5, total: 10 }, { healthy: 10, total: 10 }], [70, 30]],
    [[{ healthy: 0, total: 10 }, { healthy: 10, total: 10 }], [0, 100]],
    [[{ healthy: 0, total: 0 }, { healthy: 2, total: 2 }], [0, 100]],
  ])("loads for %o are %o", (tiers, loads) => {
    expect(tierLoads(tiers, 1.4).map((l) => Math.round(l))).toEqual(loads);
  });

  test("when every tier is degraded the loads are normalised to 100%", () => {
    const l = tierLoads([{ healthy: 1, total: 10 }, { healthy: 1, total: 10 }], 1.4);
    expect(Math.round(l[0]! + l[1]!)).toBe(100);
    expect(l[0]).toBeCloseTo(50);
  });
});

describe("locality weights", () => {
  test("a pool of local endpoints only keeps its weights", () => {
    expect(localityWeights([m(undefined, "", "passing", 3), m(undefined, "", "passing", 1)], local, "node")).toEqual([3, 1]);
  });

  test("healthy local endpoints take all the traffic; remote ones get weight 0", () => {
    expect(localityWeights([m(undefined, ""), m("b", "z1"), m("c", "z2")], local, "node")).toEqual([10_000, 0, 0]);
  });

  test("with the local endpoint critical the same zone takes over, then other zones", () => {
    const w = localityWeights([m(undefined, "", "critical"), m("b", "z1"), m("c", "z2")], local, "node");
    expect(w[1]).toBe(10_000);
    expect(w[2]).toBe(0);
    const w2 = localityWeights([m(undefined, "", "critical"), m("b", "z1", "critical"), m("c", "z2")], local, "node");
    expect(w2[2]).toBe(10_000);
  });

  test("half the local tier unhealthy spills 30% to the next tier, split by weight", () => {
    const w = localityWeights([m(undefined, ""), m(undefined, "", "critical"), m("b", "z1", "passing", 1), m("b2", "z1", "passing", 2)], local, "node");
    expect(w[0]).toBe(7000);
    expect(w[2]).toBe(1000);
    expect(w[3]).toBe(2000);
  });

  test("prefer none spreads over every endpoint by weight", () => {
    expect(localityWeights([m(undefined, ""), m("c", "z2")], local, "none")).toEqual([1, 1]);
  });
});
