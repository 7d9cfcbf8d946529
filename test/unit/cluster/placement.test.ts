// Placement runners on a real etcd: one leader among two agents, allocations every agent reads back, the slots
// each reports, a fenced write refused once the leader key was created again, and a leader that leaves.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClusterAgent, type ClusterAgent } from "../../../src/cluster/agent.ts";
import { createEtcdClient, type EtcdClient } from "../../../src/cluster/etcd.ts";
import { createPlacementRunner, type PlacementRunner } from "../../../src/cluster/placement.ts";
import type { PlacementApp } from "../../../src/core/placement/types.ts";
import type { FromCluster } from "../../../src/protocol/cluster.ts";
import { HAVE_ETCD, type RunningEtcd, startEtcd } from "../../support/etcd.ts";
import { waitFor } from "../../support/wait-for.ts";

const web: PlacementApp = { name: "web", replicas: 4, spread: "node", constraints: [], rescheduleDelayMs: 500, rescheduleMaxDelayMs: 5000, ports: false, cpu: 0, memoryBytes: 0 };
let seq = 0;

describe.skipIf(!HAVE_ETCD)("placement on a real etcd", () => {
  let etcd: RunningEtcd;
  let client: EtcdClient;
  const agents: ClusterAgent[] = [];
  const runners: PlacementRunner[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    client = createEtcdClient({ endpoints: [etcd.url], dialTimeoutMs: 1000 });
  }, 30_000);
  afterAll(async () => {
    for (const r of runners) r.stop();
    for (const a of agents) await a.stop();
    await etcd?.[Symbol.asyncDispose]();
  }, 30_000);

  function node(name: string, prefix: string, apps: PlacementApp[] = [web]) {
    const msgs: FromCluster[] = [];
    const c = createEtcdClient({ endpoints: [etcd.url], dialTimeoutMs: 1000 });
    let agent: ClusterAgent | undefined;
    const placement = createPlacementRunner({ prefix, self: name, client: c, members: () => agent?.members() ?? [], send: (m) => void msgs.push(m), log: () => {}, labels: {} });
    placement.setApps(apps);
    agent = createClusterAgent({ spec: { endpoints: [etcd.url], prefix, dialTimeoutMs: 1000, leaseTtlSeconds: 2, node: { name, zone: "z", advertise: "10.0.0.1" }, version: "test" }, client: c, send: (m) => void msgs.push(m), capacity: () => ({ cores: 2, memoryBytes: 1e9, load1: 0, freePorts: 0 }), log: () => {}, hooks: placement.hooks });
    agents.push(agent);
    runners.push(placement);
    const slots = () => {
      const last = msgs.filter((m) => m.t === "cluster.slots").at(-1);
      return last && last.t === "cluster.slots" ? (last.slots.web?.length ?? 0) : undefined;
    };
    return { agent, placement, msgs, slots };
  }

  test("two agents: one leader, 4 slots spread 2 + 2, each agent reports its own 2", async () => {
    const prefix = `/pl${++seq}`;
    const a = node("a", prefix);
    a.agent.start();
    await waitFor(() => a.placement.view().leader.self, { timeoutMs: 10_000, what: "a to lead" });
    const b = node("b", prefix);
    b.agent.start();
    await waitFor(() => b.placement.view().leader.node === "a", { timeoutMs: 10_000, what: "b to see a lead" });
    expect(b.placement.view().leader.self).toBe(false);
    // a placed all 4 on itself before b joined; a rebalance evens them out.
    await waitFor(() => a.placement.view().allocations.length === 4, { timeoutMs: 10_000, what: "4 allocations" });
    const r = await b.placement.rebalance("web");
    expect(r).toMatchObject({ done: false, leader: "a" });
    await waitFor(() => a.slots() === 2 && b.slots() === 2, { timeoutMs: 10_000, what: `2 slots each (a ${a.slots()}, b ${b.slots()}, ${JSON.stringify(a.placement.view().allocations.map((x) => x.node))})` });
    expect(JSON.stringify(a.placement.view().allocations)).toBe(JSON.stringify(b.placement.view().allocations));
    const onLeader = await a.placement.rebalance("web");
    expect(onLeader).toMatchObject({ done: true, moves: [] });
  }, 30_000);

  test("a write fenced on an old term is refused once the leader key was created again", async () => {
    const key = `/fence${++seq}/leader`;
    await client.put(key, JSON.stringify({ node: "old", since: 0 }));
    const first = (await client.range(key)).kvs[0]!.createRevision;
    await client.txn([], [{ delete: { key } }]);
    await client.put(key, JSON.stringify({ node: "new", since: 0 }));
    const second = (await client.range(key)).kvs[0]!.createRevision;
    expect(second).not.toBe(first);
    const stale = await client.txn([{ key, target: "CREATE", createRevision: first }], [{ put: { key: `${key}-alloc`, value: "x" } }]);
    expect(stale.succeeded).toBe(false);
    expect((await client.range(`${key}-alloc`)).kvs).toEqual([]);
    const current = await client.txn([{ key, target: "CREATE", createRevision: second }], [{ put: { key: `${key}-alloc`, value: "y" } }]);
    expect(current.succeeded).toBe(true);
    // A candidate's "only if absent" compare loses while a leader key exists.
    expect((await client.txn([{ key, target: "CREATE", createRevision: "0" }], [{ put: { key, value: "{}" } }])).succeeded).toBe(false);
  });

  test("the leader leaves: the other agent is elected with a new term and moves the slots to itself at once", async () => {
    const prefix = `/pl${++seq}`;
    const a = node("a", prefix);
    a.agent.start();
    await waitFor(() => a.placement.view().leader.self && a.slots() === 4, { timeoutMs: 10_000, what: "a to lead and hold 4 slots" });
    const b = node("b", prefix);
    b.agent.start();
    await waitFor(() => b.placement.view().leader.node === "a", { timeoutMs: 10_000, what: "b to see a lead" });
    const term = a.placement.view().leader.term;
    a.placement.stop();
    await a.agent.stop();
    await waitFor(() => b.placement.view().leader.self, { timeoutMs: 10_000, what: "b to lead" });
    expect(b.placement.view().leader.term).not.toBe(term);
    await waitFor(() => b.slots() === 4, { timeoutMs: 10_000, what: "b to hold all 4 slots" });
    expect(b.placement.view().allocations.every((x) => x.node === "b" && x.generation === 2)).toBe(true);
    expect(b.msgs.some((m) => m.t === "cluster.event" && m.type === "cluster.leader.elected")).toBe(true);
  }, 30_000);
});
