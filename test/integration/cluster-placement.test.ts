// Cluster placement with the compiled binary: three agents in three zones on a real 3-member etcd, a cluster app
// of 6 replicas spread by zone, and an app with a label constraint and max_per_node that cannot place all of its
// slots. Then the leader node is SIGKILLed: a new leader is elected, the survivors' slots stay where they were,
// and the dead node's slots run on the survivors after lease TTL + reschedule delay.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningAgent, requireBinary, startAgent } from "../support/agent.ts";
import { HAVE_ETCD, startEtcdCluster } from "../support/etcd.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson, type Json, send } from "./api-support.ts";

const LEASE_TTL_S = 2;
const PREFIX = "/polis-place";

describe.skipIf(!HAVE_ETCD)("cluster placement: 3 agents, 3 zones, 3 etcd members", () => {
  let etcd: Awaited<ReturnType<typeof startEtcdCluster>>;
  const agents = new Map<string, RunningAgent>();
  const pids: number[] = [];
  const base = 21_000 + Math.floor(Math.random() * 80) * 50;

  const appsFor = (i: number) => [
    {
      name: "web",
      command: "@self",
      args: ["demo-app"],
      port: { range: [base + i * 10, base + i * 10 + 9] },
      readiness: { kind: "port", timeout: "10s" },
      stop: { timeout: "2s" },
      placement: { scope: "cluster", replicas: 6, spread: "zone", max_per_node: 3, reschedule: { delay: "1s", max_delay: "10s" } },
    },
    {
      name: "edge",
      command: "sleep",
      args: ["600"],
      stop: { timeout: "1s" },
      placement: { scope: "cluster", replicas: 3, spread: "node", max_per_node: 1, constraints: [{ label: "role", op: "eq", value: "edge" }] },
    },
  ];
  const nodes = [
    { name: "pl-a", address: "127.0.0.11", zone: "z1", labels: { role: "edge" } },
    { name: "pl-b", address: "127.0.0.12", zone: "z2", labels: { role: "edge" } },
    { name: "pl-c", address: "127.0.0.13", zone: "z3", labels: { role: "db" } },
  ];
  const allocations = async (agent: RunningAgent) => (await getJson(agent, "/v1/cluster/allocations")).allocations as Json[];
  const perNode = (list: Json[], app: string) => {
    const m: Record<string, number> = {};
    for (const a of list) if (a.app === app) m[a.node] = (m[a.node] ?? 0) + 1;
    return Object.fromEntries(Object.entries(m).sort(([x], [y]) => x.localeCompare(y)));
  };
  const ready = async (agent: RunningAgent, app: string) => ((await getJson(agent, `/v1/apps/${app}`)).replicas as Json[]).filter((r) => r.state === "ready").length;
  const leaderOf = async (agent: RunningAgent) => (await getJson(agent, "/v1/cluster/leader")).leader as Json;

  beforeAll(async () => {
    requireBinary();
    etcd = await startEtcdCluster(3);
    for (const [i, n] of nodes.entries()) {
      agents.set(
        n.name,
        await startAgent({ config: { agent: { name: n.name }, cluster: { etcd: { endpoints: etcd.urls, prefix: PREFIX, dial_timeout: "1s" }, node: { name: n.name, advertise: n.address, zone: n.zone, labels: n.labels }, lease_ttl: `${LEASE_TTL_S}s` }, apps: appsFor(i) } }),
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const x of agents.values()) await x[Symbol.asyncDispose]();
    // A SIGKILLed agent's replicas outlive it (their own process groups): end them by the pids it reported.
    for (const pid of pids) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {}
    }
    await etcd?.[Symbol.asyncDispose]();
  }, 60_000);

  const runsItsSlots = async () => {
    const list = await allocations(agents.get("pl-a")!);
    for (const [name, x] of agents) {
      const want = perNode(list, "web")[name] ?? 0;
      await waitFor(async () => (await ready(x, "web")) === want, { timeoutMs: 20_000, what: `${want} ready web replicas on ${name}` });
    }
  };

  test("one leader; all 6 replicas of web placed within max_per_node, each node running exactly its slots", async () => {
    const a = agents.get("pl-a")!;
    await waitFor(async () => (await allocations(a)).filter((x) => x.app === "web").length === 6, { timeoutMs: 20_000, what: "6 web allocations" });
    // The agents started one after another: the first leader placed on the nodes it knew, and a node that joined
    // later got nothing moved to it (healthy slots never move without a rebalance).
    expect(Object.values(perNode(await allocations(a), "web")).every((n) => n <= 3)).toBe(true);
    const leaders = new Set<string>();
    let selves = 0;
    for (const x of agents.values()) {
      const l = await leaderOf(x);
      leaders.add(String(l.node));
      if (l.self) selves++;
    }
    expect(leaders.size).toBe(1);
    expect(selves).toBe(1);
    await runsItsSlots();
    // Every agent shows the same allocations (each reads them from its own watch).
    const seen = await Promise.all([...agents.values()].map(async (x) => JSON.stringify(await allocations(x))));
    expect(new Set(seen).size).toBe(1);
  }, 60_000);

  test("polis cluster apps / allocations print the placement; --json gives the API's; a bad subcommand is a usage error", async () => {
    const a = agents.get("pl-b")!;
    const cli = (...args: string[]) => {
      const p = Bun.spawnSync([requireBinary(), "cluster", ...args, "--url", a.url, "--token", a.token], { env: { PATH: process.env.PATH ?? "" }, timeout: 20_000 });
      return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
    };
    const apps = cli("apps");
    expect(apps.code).toBe(0);
    expect(apps.out).toMatch(/^leader: pl-/);
    expect(apps.out).toMatch(/web\s+6\s+6\s+0\s+0\s+zone/);
    expect(apps.out).toContain("edge/2: no node can take it");
    const allocs = cli("allocations", "--app", "web", "--json");
    expect(allocs.code).toBe(0);
    expect((JSON.parse(allocs.out).allocations as Json[]).length).toBe(6);
    expect(cli("allocations", "--node", "pl-c").out).not.toContain("pl-a");
    const bad = cli("nodes");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("nodes");
    expect(cli("apps", "--node", "pl-a").code).toBe(2);
  }, 30_000);

  test("rebalance (operator role, a known cluster app) evens web out to two per zone with the fewest moves; again, it moves nothing", async () => {
    const a = agents.get("pl-c")!;
    expect((await send(a, "POST", "/v1/cluster/apps/web/rebalance", undefined, "")).status).toBe(401);
    expect((await send(a, "POST", "/v1/cluster/apps/nope/rebalance")).status).toBe(404);
    const before = perNode(await allocations(a), "web");
    const r = await send(a, "POST", "/v1/cluster/apps/web/rebalance");
    if (process.env.DEBUG_PLACEMENT) console.log(JSON.stringify(r.body), JSON.stringify(before));
    expect(r.status).toBe(200);
    await waitFor(async () => JSON.stringify(perNode(await allocations(a), "web")) === JSON.stringify({ "pl-a": 2, "pl-b": 2, "pl-c": 2 }), { timeoutMs: 10_000, what: "2 web slots per zone" });
    const moved = Object.entries(before).reduce((s, [, n]) => s + Math.max(0, n - 2), 0);
    if (r.body.done) expect(r.body.moves.length).toBe(moved);
    await runsItsSlots();
    let leader: RunningAgent | undefined;
    for (const x of agents.values()) if ((await leaderOf(x)).self) leader = x;
    const again = await send(leader!, "POST", "/v1/cluster/apps/web/rebalance");
    expect(again.body).toMatchObject({ done: true, moves: [] });
  }, 60_000);

  test("constraints and max_per_node are honoured; the slot no node can take is reported with why", async () => {
    const a = agents.get("pl-a")!;
    await waitFor(async () => (await allocations(a)).filter((x) => x.app === "edge").length === 2, { timeoutMs: 10_000, what: "2 edge allocations" });
    expect(perNode(await allocations(a), "edge")).toEqual({ "pl-a": 1, "pl-b": 1 });
    expect(await ready(agents.get("pl-c")!, "edge")).toBe(0);
    // The status record is the leader's last pass: one made before the leader saw pl-c's record names two nodes
    // only, and the next pass rewrites it. Wait for the pass that weighed all three.
    const edge = await waitFor(async () => {
      const apps = (await getJson(agents.get("pl-c")!, "/v1/cluster/apps")).apps as Json[];
      const e = apps.find((x) => x.name === "edge");
      const filtered = (e?.unplaceable as Json[] | undefined)?.[0]?.filtered as Record<string, number> | undefined;
      return e && Object.values(filtered ?? {}).reduce((n, k) => n + k, 0) === 3 ? e : undefined;
    }, { timeoutMs: 10_000, what: "edge's status from a pass that weighed all three nodes" });
    expect(edge).toMatchObject({ replicas: 3, placed: 2, nodes: { "pl-a": 1, "pl-b": 1 } });
    expect(edge.unplaceable).toEqual([{ slot: 2, reason: "no node can take it (2 nodes: max_per_node 1 reached; 1 node: constraint role eq edge)", filtered: { "max_per_node 1 reached": 2, "constraint role eq edge": 1 } }]);
    // The leader raised an event and an alert for it.
    let leader: RunningAgent | undefined;
    for (const x of agents.values()) if ((await leaderOf(x)).self) leader = x;
    const events = (await getJson(leader!, "/v1/events?type=cluster.slot.unplaceable")).events as Json[];
    expect(events.some((e) => String(e.message).startsWith("edge/2 cannot be placed"))).toBe(true);
    await waitFor(async () => ((await getJson(leader!, "/v1/alerts")).alerts as Json[]).some((x) => x.labels?.alertname === "ClusterSlotUnplaceable" || x.name === "ClusterSlotUnplaceable"), { timeoutMs: 10_000, what: "an unplaceable alert" });
  }, 30_000);

  test("the leader SIGKILLed: a new leader, the survivors' slots unchanged, the dead node's slots run on the survivors", async () => {
    let victim = "";
    for (const [name, x] of agents) if ((await leaderOf(x)).self) victim = name;
    expect(victim).not.toBe("");
    const dead = agents.get(victim)!;
    for (const r of (await getJson(dead, "/v1/apps/web")).replicas as Json[]) if (typeof r.pid === "number") pids.push(r.pid);
    for (const r of (await getJson(dead, "/v1/apps/edge")).replicas as Json[]) if (typeof r.pid === "number") pids.push(r.pid);
    const survivors = [...agents.entries()].filter(([n]) => n !== victim);
    const [sName, s] = survivors[0]!;
    const all = await allocations(s);
    const before = all.filter((x) => x.node !== victim);
    const lost = all.filter((x) => x.node === victim);
    const oldTerm = String((await leaderOf(s)).term);
    const killedAt = Date.now();
    dead.proc.kill("SIGKILL");
    await dead.proc.exited;
    agents.delete(victim);

    await waitFor(async () => {
      const l = await leaderOf(s);
      return l.node !== undefined && l.node !== victim;
    }, { timeoutMs: 15_000, what: "a new leader" });
    const elected = Date.now() - killedAt;
    const l = await leaderOf(s);
    expect(l.term).not.toBe(oldTerm);
    expect(survivors.map(([n]) => n)).toContain(String(l.node));

    await waitFor(async () => {
      const m = perNode(await allocations(s), "web");
      return m[victim] === undefined && Object.values(m).reduce((x, y) => x + y, 0) === 6;
    }, { timeoutMs: 20_000, what: "web's 6 slots on the two survivors" });
    for (const [, x] of survivors) await waitFor(async () => (await ready(x, "web")) === 3, { timeoutMs: 20_000, what: "3 ready web replicas on each survivor" });
    const rescheduled = Date.now() - killedAt;
    const after = await allocations(s);
    // Stability: every slot that was on a survivor is still there, same generation.
    for (const b of before) expect(after.find((x) => x.app === b.app && x.slot === b.slot)).toMatchObject({ node: b.node, generation: b.generation });
    console.log(`placement: leader elected ${elected} ms after SIGKILL, slots running again ${rescheduled} ms after it (TTL ${LEASE_TTL_S}s + delay 1s) [${sName}]`);
    if (process.env.DEBUG_PLACEMENT) console.log(JSON.stringify({ victim, lost, after }));
    for (const b of lost.filter((x) => x.app === "web")) expect(after.find((x) => x.app === b.app && x.slot === b.slot)?.generation ?? b.generation + 1).toBe(b.generation + 1);
    expect(after.filter((x) => x.app === "web" && x.node === victim)).toEqual([]);
  }, 60_000);
});
