import { describe, expect, test } from "bun:test";
import { matches } from "../../../../src/core/placement/filters.ts";
import { place, RESCHEDULE_STABLE_MS, rescheduleDelay } from "../../../../src/core/placement/scheduler.ts";
import { type Allocation, type PlacementApp, type PlacementNode, Why } from "../../../../src/core/placement/types.ts";

const app = (o: Partial<PlacementApp> = {}): PlacementApp => ({ name: "web", replicas: 6, spread: "zone", constraints: [], rescheduleDelayMs: 5000, rescheduleMaxDelayMs: 60_000, ports: false, cpu: 0, memoryBytes: 0, ...o });
const node = (name: string, zone: string, o: Partial<PlacementNode> = {}): PlacementNode => ({ name, zone, labels: {}, cores: 2, memoryBytes: 4e9, load1: 0, freePorts: 100, state: "alive", since: 0, ...o });
const three = [node("a", "z1"), node("b", "z2"), node("c", "z3")];
const perNode = (allocs: readonly Allocation[]) => {
  const m: Record<string, number> = {};
  for (const a of allocs) m[a.node] = (m[a.node] ?? 0) + 1;
  return m;
};
const NOW = 1_000_000;

describe("placing new slots", () => {
  test("6 replicas over 3 zones: two per zone", () => {
    const r = place({ apps: [app()], nodes: three, allocations: [] }, NOW);
    expect(r.allocations.map((a) => a.slot)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(perNode(r.allocations)).toEqual({ a: 2, b: 2, c: 2 });
    expect(r.changes.every((c) => c.why === Why.PLACED)).toBe(true);
    expect(r.unplaceable).toEqual([]);
  });

  test("zone spread evens zones before nodes: a zone of two nodes gets no more than a zone of one", () => {
    const nodes = [node("a1", "z1"), node("a2", "z1"), node("b", "z2")];
    const r = place({ apps: [app({ replicas: 4 })], nodes, allocations: [] }, NOW);
    expect(perNode(r.allocations)).toEqual({ a1: 1, a2: 1, b: 2 });
  });

  test("node spread ignores zones; the contrast: zone spread would put 2 on the lone zone", () => {
    const nodes = [node("a1", "z1"), node("a2", "z1"), node("b", "z2")];
    expect(perNode(place({ apps: [app({ replicas: 3, spread: "node" })], nodes, allocations: [] }, NOW).allocations)).toEqual({ a1: 1, a2: 1, b: 1 });
    expect(perNode(place({ apps: [app({ replicas: 4, spread: "zone" })], nodes, allocations: [] }, NOW).allocations).b).toBe(2);
  });

  test("spread none packs onto the least loaded node up to max_per_node", () => {
    const nodes = [node("a", "z1", { load1: 1.5 }), node("b", "z1", { load1: 0.2 })];
    const r = place({ apps: [app({ replicas: 4, spread: "none", maxPerNode: 3 })], nodes, allocations: [] }, NOW);
    expect(perNode(r.allocations)).toEqual({ b: 3, a: 1 });
  });

  test("among equal nodes the lower load per core wins", () => {
    const nodes = [node("a", "z1", { load1: 1.8 }), node("b", "z1", { load1: 0.4 }), node("c", "z1", { load1: 0.6, cores: 4 })];
    const r = place({ apps: [app({ replicas: 1, spread: "node" })], nodes, allocations: [] }, NOW);
    expect(r.allocations[0]!.node).toBe("c");
  });
});

describe("constraints", () => {
  test.each([
    [{ label: "role", op: "eq", value: "edge" }, { role: "edge" }, true],
    [{ label: "role", op: "eq", value: "edge" }, { role: "db" }, false],
    [{ label: "role", op: "eq", value: "edge" }, {}, false],
    [{ label: "role", op: "neq", value: "db" }, { role: "edge" }, true],
    [{ label: "role", op: "neq", value: "db" }, {}, true],
    [{ label: "role", op: "neq", value: "db" }, { role: "db" }, false],
    [{ label: "disk", op: "in", values: ["ssd", "nvme"] }, { disk: "nvme" }, true],
    [{ label: "disk", op: "in", values: ["ssd", "nvme"] }, { disk: "hdd" }, false],
    [{ label: "gpu", op: "exists" }, { gpu: "" }, true],
    [{ label: "gpu", op: "exists" }, {}, false],
    [{ label: "toString", op: "exists" }, {}, false],
  ] as const)("%o on labels %o -> %p", (c, labels, ok) => {
    expect(matches(c, labels)).toBe(ok);
  });

  test("only nodes that meet every constraint get slots", () => {
    const nodes = [node("a", "z1", { labels: { role: "edge" } }), node("b", "z2", { labels: { role: "db" } }), node("c", "z3", { labels: { role: "edge" } })];
    const r = place({ apps: [app({ replicas: 4, constraints: [{ label: "role", op: "eq", value: "edge" }] })], nodes, allocations: [] }, NOW);
    expect(perNode(r.allocations)).toEqual({ a: 2, c: 2 });
  });

  test("a node whose config lacks the app gets none of its slots", () => {
    const nodes = [node("a", "z1", { apps: ["web"] }), node("b", "z2", { apps: ["api"] })];
    const r = place({ apps: [app({ replicas: 2, spread: "node" })], nodes, allocations: [] }, NOW);
    expect(perNode(r.allocations)).toEqual({ a: 2 });
  });

  test("a node that stops meeting a constraint loses its slots to one that does", () => {
    const allocations: Allocation[] = [{ app: "web", slot: 0, node: "a", generation: 1, reschedules: 0, placedAt: 0 }];
    const nodes = [node("a", "z1", { labels: { role: "db" } }), node("b", "z2", { labels: { role: "edge" } })];
    const r = place({ apps: [app({ replicas: 1, constraints: [{ label: "role", op: "eq", value: "edge" }] })], nodes, allocations }, NOW);
    expect(r.allocations[0]).toMatchObject({ node: "b", generation: 2 });
    expect(r.changes[0]).toMatchObject({ from: "a", to: "b", why: Why.CONSTRAINT_CHANGED });
  });
});

describe("capacity and unplaceable slots", () => {
  test("max_per_node caps each node and the rest is unplaceable, with why", () => {
    const nodes = [node("a", "z1", { labels: { role: "edge" } }), node("b", "z2", { labels: { role: "edge" } }), node("c", "z3")];
    const r = place({ apps: [app({ replicas: 5, maxPerNode: 2, constraints: [{ label: "role", op: "eq", value: "edge" }] })], nodes, allocations: [] }, NOW);
    expect(perNode(r.allocations)).toEqual({ a: 2, b: 2 });
    expect(r.unplaceable).toHaveLength(1);
    expect(r.unplaceable[0]).toMatchObject({ app: "web", slot: 4, filtered: { "max_per_node 2 reached": 2, "constraint role eq edge": 1 } });
    expect(r.unplaceable[0]!.reason).toBe("no node can take it (2 nodes: max_per_node 2 reached; 1 node: constraint role eq edge)");
  });

  test("free ports, cores and memory are consumed across apps in one pass", () => {
    const nodes = [node("a", "z1", { freePorts: 2, cores: 2, memoryBytes: 1000 })];
    const r = place({ apps: [app({ name: "p", replicas: 3, ports: true }), app({ name: "q", replicas: 3, cpu: 1 }), app({ name: "r", replicas: 2, memoryBytes: 600 })], nodes, allocations: [] }, NOW);
    expect(r.allocations.map((a) => `${a.app}/${a.slot}`)).toEqual(["p/0", "p/1", "q/0", "q/1", "r/0"]);
    expect(r.unplaceable.map((u) => [u.app, Object.keys(u.filtered)[0]])).toEqual([["p", "no free port"], ["q", "cores exhausted"], ["r", "memory exhausted"]]);
  });

  test("no node at all: every slot is unplaceable and says so", () => {
    const r = place({ apps: [app({ replicas: 2 })], nodes: [], allocations: [] }, NOW);
    expect(r.unplaceable.map((u) => u.reason)).toEqual(["no node in the cluster", "no node in the cluster"]);
    expect(r.allocations).toEqual([]);
  });
});

describe("stability", () => {
  test("a new node joining moves nothing (no rebalance without asking)", () => {
    const first = place({ apps: [app()], nodes: three.slice(0, 2), allocations: [] }, NOW);
    const r = place({ apps: [app()], nodes: three, allocations: first.allocations }, NOW + 1);
    expect(r.changes).toEqual([]);
    expect(r.allocations).toEqual(first.allocations);
  });

  test("the same input twice gives the same allocations and no changes", () => {
    const first = place({ apps: [app()], nodes: three, allocations: [] }, NOW);
    const again = place({ apps: [app()], nodes: three, allocations: first.allocations }, NOW + 1000);
    expect(again.allocations).toEqual(first.allocations);
    expect(again.changes).toEqual([]);
  });

  test("rebalance on request moves the fewest slots that even the zones out", () => {
    const first = place({ apps: [app()], nodes: three.slice(0, 2), allocations: [] }, NOW);
    expect(perNode(first.allocations)).toEqual({ a: 3, b: 3 });
    const r = place({ apps: [app()], nodes: three, allocations: first.allocations, rebalance: new Set(["web"]) }, NOW + 1);
    expect(perNode(r.allocations)).toEqual({ a: 2, b: 2, c: 2 });
    expect(r.changes.map((c) => [c.from, c.to, c.why])).toEqual([["b", "c", Why.REBALANCE], ["a", "c", Why.REBALANCE]]);
  });

  test("rebalance of a balanced app changes nothing", () => {
    const first = place({ apps: [app()], nodes: three, allocations: [] }, NOW);
    const r = place({ apps: [app()], nodes: three, allocations: first.allocations, rebalance: new Set(["web"]) }, NOW + 1);
    expect(r.changes).toEqual([]);
  });

  test("scale down removes the highest slots; scale up adds new ones and keeps the rest", () => {
    const first = place({ apps: [app()], nodes: three, allocations: [] }, NOW);
    const down = place({ apps: [app({ replicas: 4 })], nodes: three, allocations: first.allocations }, NOW + 1);
    expect(down.allocations.map((a) => a.slot)).toEqual([0, 1, 2, 3]);
    expect(down.changes.map((c) => [c.slot, c.why])).toEqual([[4, Why.SCALED_DOWN], [5, Why.SCALED_DOWN]]);
    const up = place({ apps: [app({ replicas: 5 })], nodes: three, allocations: down.allocations }, NOW + 2);
    expect(up.allocations.slice(0, 4)).toEqual(down.allocations);
    expect(up.changes).toHaveLength(1);
  });

  test("allocations of an app no longer defined are removed", () => {
    const first = place({ apps: [app({ replicas: 2 })], nodes: three, allocations: [] }, NOW);
    const r = place({ apps: [], nodes: three, allocations: first.allocations }, NOW + 1);
    expect(r.allocations).toEqual([]);
    expect(r.changes.map((c) => c.why)).toEqual([Why.APP_REMOVED, Why.APP_REMOVED]);
  });
});

describe("rescheduling after a node is lost", () => {
  const placed = place({ apps: [app()], nodes: three, allocations: [] }, NOW).allocations;
  const cGone = (since: number, o: Partial<PlacementNode> = {}) => [three[0]!, three[1]!, node("c", "z3", { state: "gone", since, ...o })];

  test("slots of a gone node wait the reschedule delay, then move to the survivors", () => {
    const lostAt = NOW + 10_000;
    const waiting = place({ apps: [app()], nodes: cGone(lostAt), allocations: placed }, lostAt + 4999);
    expect(waiting.changes).toEqual([]);
    expect(waiting.pending.map((p) => [p.node, p.until])).toEqual([["c", lostAt + 5000], ["c", lostAt + 5000]]);
    expect(waiting.wakeAt).toBe(lostAt + 5000);
    const moved = place({ apps: [app()], nodes: cGone(lostAt), allocations: placed }, lostAt + 5000);
    expect(perNode(moved.allocations)).toEqual({ a: 3, b: 3 });
    expect(moved.changes.map((c) => [c.from, c.why])).toEqual([["c", Why.NODE_GONE], ["c", Why.NODE_GONE]]);
    expect(moved.allocations.filter((a) => a.generation === 2).every((a) => a.reschedules === 1)).toBe(true);
  });

  test("a node that left gracefully loses its slots at once", () => {
    const r = place({ apps: [app()], nodes: cGone(NOW + 10, { left: true }), allocations: placed }, NOW + 10);
    expect(r.changes.map((c) => c.why)).toEqual([Why.NODE_LEFT, Why.NODE_LEFT]);
  });

  test("a suspect node keeps its slots and gets no new ones", () => {
    const nodes = [three[0]!, three[1]!, node("c", "z3", { state: "suspect", since: NOW })];
    const r = place({ apps: [app({ replicas: 7 })], nodes, allocations: placed }, NOW + 60_000);
    expect(perNode(r.allocations)).toEqual({ a: 3, b: 2, c: 2 });
  });

  test("a node back within the delay keeps its slots (a blip moves nothing)", () => {
    const r = place({ apps: [app()], nodes: three, allocations: placed }, NOW + 3000);
    expect(r.changes).toEqual([]);
  });

  test.each([
    [0, 5000],
    [1, 10_000],
    [2, 20_000],
    [3, 40_000],
    [4, 60_000],
    [40, 60_000],
  ])("after %d quick reschedules the delay is %d ms", (n, ms) => {
    expect(rescheduleDelay(app(), n)).toBe(ms);
  });

  test("a slot whose last placement was stable starts from the base delay again", () => {
    const a: Allocation = { app: "web", slot: 0, node: "c", generation: 5, reschedules: 3, placedAt: NOW };
    const lostAt = NOW + RESCHEDULE_STABLE_MS + 1;
    const r = place({ apps: [app({ replicas: 1 })], nodes: cGone(lostAt), allocations: [a] }, lostAt + 40_000);
    expect(r.allocations[0]).toMatchObject({ generation: 6, reschedules: 1 });
  });
});
