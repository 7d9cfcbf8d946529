// The cluster runner against a real etcd: registration, remote feeds between two runners, a lost lease, a
// compacted watch and a graceful leave.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClusterAgent, type ClusterAgent } from "../../../src/cluster/agent.ts";
import { createEtcdClient, EtcdError, type EtcdClient, prefixEnd } from "../../../src/cluster/etcd.ts";
import type { ClusterEndpoint } from "../../../src/core/cluster/records.ts";
import type { FromCluster } from "../../../src/protocol/cluster.ts";
import { HAVE_ETCD, type RunningEtcd, startEtcd, startEtcdCluster } from "../../support/etcd.ts";
import { waitFor } from "../../support/wait-for.ts";

let prefixSeq = 0;
const ep = (node: string, id: string, extra: Partial<ClusterEndpoint> = {}): ClusterEndpoint => ({ node, zone: "z", namespace: "default", service: "web", id, address: "10.0.0.1", port: 8080, protocol: "http", weight: 1, health: "passing", draining: false, metadata: {}, labels: {}, ...extra });

describe.skipIf(!HAVE_ETCD)("cluster runner on a real etcd", () => {
  let etcd: RunningEtcd;
  let client: EtcdClient;
  const started: ClusterAgent[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    client = createEtcdClient({ endpoints: [etcd.url], dialTimeoutMs: 1000 });
  }, 30_000);
  afterAll(async () => {
    for (const a of started) await a.stop();
    await etcd?.[Symbol.asyncDispose]();
  }, 30_000);

  function runner(node: string, prefix: string, c: EtcdClient = client) {
    const msgs: FromCluster[] = [];
    const remote = new Map<string, ClusterEndpoint>();
    const agent = createClusterAgent({
      spec: { endpoints: [etcd.url], prefix, dialTimeoutMs: 1000, leaseTtlSeconds: 2, node: { name: node, zone: "z", advertise: "10.0.0.1" }, version: "test" },
      client: c,
      send: (m) => {
        msgs.push(m);
        if (m.t !== "cluster.remote") return;
        if (m.full) remote.clear();
        for (const id of m.removed) remote.delete(id);
        for (const e of m.upserts) remote.set(`${e.node}/${e.namespace}/${e.service}/${e.id}`, e);
      },
      capacity: () => ({ cores: 1, memoryBytes: 1, load1: 0, freePorts: 7 }),
      log: () => {},
    });
    started.push(agent);
    return { agent, msgs, remote };
  }

  test("the etcd client: a prefix range covers exactly the prefix; keepalive of an unknown lease answers 0", async () => {
    expect(prefixEnd("/a/")).toBe("/a0");
    await client.put("/t/a/1", "x");
    await client.put("/t/a0", "y");
    expect((await client.range("/t/a/", { prefix: true })).kvs.map((k) => k.key)).toEqual(["/t/a/1"]);
    expect(await client.keepAlive("12345")).toBe(0);
    const lease = await client.grant(5);
    const r = await client.txn([{ key: "/t/none", target: "LEASE", lease }], [{ put: { key: "/t/z", value: "1" } }]);
    expect(r.succeeded).toBe(false);
  });

  test("an unreachable etcd is an EtcdError with reason unreachable", async () => {
    const dead = createEtcdClient({ endpoints: ["http://127.0.0.1:1"], dialTimeoutMs: 300 });
    const e = await dead.status().catch((x) => x);
    expect(e).toBeInstanceOf(EtcdError);
    expect((e as EtcdError).reason).toBe("unreachable");
  });

  test("endpoints set on one runner reach the other; changes and removals follow", async () => {
    const prefix = `/u${++prefixSeq}`;
    const a = runner("a", prefix);
    const b = runner("b", prefix);
    a.agent.setLocal([ep("a", "web-0"), ep("a", "web-1")]);
    a.agent.start();
    b.agent.start();
    await waitFor(() => b.remote.size === 2, { timeoutMs: 10_000, what: "b to see a's two endpoints" });
    a.agent.setLocal([ep("a", "web-0", { health: "critical" })]);
    await waitFor(() => b.remote.size === 1 && [...b.remote.values()][0]!.health === "critical", { timeoutMs: 10_000, what: "b to see the change" });
    expect(b.agent.members().map((m) => [m.name, m.status, m.self])).toEqual([["a", "alive", false], ["b", "alive", true]]);
    // b never feeds its own endpoints back as remote.
    b.agent.setLocal([ep("b", "web-0")]);
    await waitFor(() => a.remote.has("b/default/web/web-0"), { timeoutMs: 10_000, what: "a to see b's endpoint" });
    expect([...b.remote.keys()]).toEqual(["a/default/web/web-0"]);
  }, 30_000);

  test("a lost lease is noticed and everything is registered again under a new one, without duplicates", async () => {
    const prefix = `/u${++prefixSeq}`;
    const a = runner("a", prefix);
    const b = runner("b", prefix);
    a.agent.setLocal([ep("a", "web-0"), ep("a", "web-1")]);
    a.agent.start();
    b.agent.start();
    await waitFor(() => b.remote.size === 2, { timeoutMs: 10_000, what: "b to see a" });
    const lease = a.agent.status().leaseId!;
    await client.revoke(lease);
    await waitFor(() => b.remote.size === 0, { timeoutMs: 10_000, what: "the revoke to delete a's keys" });
    await waitFor(() => b.remote.size === 2 && a.agent.status().leaseId !== lease && a.agent.status().connected, { timeoutMs: 15_000, what: "a to re-register" });
    const keys = (await client.range(`${prefix}/`, { prefix: true })).kvs.map((k) => k.key).sort();
    expect(keys).toEqual([`${prefix}/endpoints/a/default/web/web-0`, `${prefix}/endpoints/a/default/web/web-1`, `${prefix}/nodes/a`, `${prefix}/nodes/b`]);
    expect(a.msgs.some((m) => m.t === "cluster.event" && m.type === "cluster.disconnected")).toBe(true);
  }, 40_000);

  test("a compacted watch revision triggers a full resync", async () => {
    const prefix = `/u${++prefixSeq}`;
    let compactOnce = true;
    const flaky: EtcdClient = {
      ...client,
      get endpoint() {
        return client.endpoint;
      },
      watch: (key, o, on) => {
        if (compactOnce) {
          compactOnce = false;
          return Promise.reject(new EtcdError("compacted", "required revision has been compacted", "99"));
        }
        return client.watch(key, o, on);
      },
    };
    const a = runner("a", prefix);
    a.agent.setLocal([ep("a", "web-0")]);
    a.agent.start();
    const b = runner("b", prefix, flaky);
    b.agent.start();
    await waitFor(() => b.agent.status().resyncs >= 2 && b.remote.size === 1, { timeoutMs: 10_000, what: "b to resync after compaction" });
    expect(b.msgs.some((m) => m.t === "cluster.event" && m.type === "cluster.resync")).toBe(true);
    a.agent.setLocal([ep("a", "web-0"), ep("a", "web-1")]);
    await waitFor(() => b.remote.size === 2, { timeoutMs: 10_000, what: "b's watch to run after the resync" });
  }, 30_000);

  test("a runner cut off from etcd and back replays what it missed from its revision, without a full read", async () => {
    const prefix = `/u${++prefixSeq}`;
    // B's link to etcd can be cut: every call fails as unreachable and its watch stream breaks.
    let cut = false;
    const watches = new Set<() => void>();
    const gate = <T,>(f: () => Promise<T>) => (cut ? Promise.reject(new EtcdError("unreachable", "cut by the test")) : f());
    const cuttable: EtcdClient = {
      get endpoint() {
        return client.endpoint;
      },
      range: (k, o) => gate(() => client.range(k, o)),
      put: (k, v, l) => gate(() => client.put(k, v, l)),
      txn: (c, ok, no) => gate(() => client.txn(c, ok, no)),
      grant: (t) => gate(() => client.grant(t)),
      keepAlive: (id) => gate(() => client.keepAlive(id)),
      revoke: (id) => gate(() => client.revoke(id)),
      status: () => gate(() => client.status()),
      watch: (key, o, on) =>
        gate(async () => {
          const inner = new AbortController();
          o.signal.addEventListener("abort", () => inner.abort(), { once: true });
          let broke = false;
          const breakIt = () => {
            broke = true;
            inner.abort();
          };
          watches.add(breakIt);
          try {
            await client.watch(key, { ...o, signal: inner.signal }, on);
          } finally {
            watches.delete(breakIt);
          }
          if (broke) throw new EtcdError("unreachable", "watch cut by the test");
        }),
    };
    const a = runner("a", prefix);
    a.agent.setLocal([ep("a", "web-0")]);
    a.agent.start();
    const b = runner("b", prefix, cuttable);
    b.agent.start();
    await waitFor(() => b.remote.size === 1 && b.agent.status().connected, { timeoutMs: 10_000, what: "b to see a" });
    expect(b.agent.status().resyncs).toBe(1);
    cut = true;
    for (const w of [...watches]) w();
    await waitFor(() => b.agent.status().stale, { timeoutMs: 10_000, what: "b to notice the cut" });
    a.agent.setLocal([ep("a", "web-0", { health: "critical" }), ep("a", "web-1")]);
    // While cut off, b serves what it knew.
    expect([...b.remote.values()].map((e) => [e.id, e.health])).toEqual([["web-0", "passing"]]);
    cut = false;
    await waitFor(() => b.remote.size === 2 && b.remote.get("a/default/web/web-0")?.health === "critical" && b.agent.status().connected, { timeoutMs: 15_000, what: "b to catch up" });
    expect(b.agent.status().resyncs).toBe(1);
  }, 40_000);

  test("a graceful stop removes the node's endpoints at once and marks it left", async () => {
    const prefix = `/u${++prefixSeq}`;
    const a = runner("a", prefix);
    const b = runner("b", prefix);
    a.agent.setLocal([ep("a", "web-0")]);
    a.agent.start();
    b.agent.start();
    await waitFor(() => b.remote.size === 1 && a.agent.status().connected, { timeoutMs: 10_000, what: "b to see a" });
    await a.agent.stop();
    await waitFor(() => b.remote.size === 0, { timeoutMs: 5000, what: "a's endpoints gone" });
    expect(b.agent.members().find((m) => m.name === "a")?.status).toBe("left");
  }, 30_000);

  test("a stop without leaving (a takeover) writes nothing; a successor with the same name takes the keys, which outlive the old lease", async () => {
    const prefix = `/u${++prefixSeq}`;
    const old = runner("a", prefix);
    const b = runner("b", prefix);
    old.agent.setLocal([ep("a", "web-0")]);
    old.agent.start();
    b.agent.start();
    await waitFor(() => b.remote.size === 1 && old.agent.status().connected, { timeoutMs: 10_000, what: "b to see a" });
    const oldLease = old.agent.status().leaseId;
    await old.agent.stop({ leave: false });
    const next = runner("a", prefix);
    next.agent.setLocal([ep("a", "web-0")]);
    next.agent.start();
    await waitFor(() => next.agent.status().connected, { timeoutMs: 10_000, what: "the successor registered" });
    // Past the old lease's 2 s TTL: anything still under it would be gone by now.
    await Bun.sleep(3000);
    const node = await client.range(`${prefix}/nodes/a`);
    expect(node.kvs.map((k) => [k.lease === oldLease, k.value.includes("leaving")])).toEqual([[false, false]]);
    expect(b.remote.size).toBe(1);
    expect(b.agent.members().find((m) => m.name === "a")?.status).toBe("alive");
    expect(b.msgs.some((m) => m.t === "cluster.event" && m.type !== "cluster.connected" && m.data?.node === "a" && m.type !== "cluster.member.joined")).toBe(false);
  }, 30_000);
});

describe.skipIf(!HAVE_ETCD)("cluster runner on a 3-member etcd", () => {
  test("one member of three down: the runners move to another member and keep the catalog whole; new changes still flow", async () => {
    await using etcd = await startEtcdCluster(3);
    const agents: ClusterAgent[] = [];
    try {
      const make = (node: string, order: string[]) => {
        const remote = new Map<string, ClusterEndpoint>();
        const agent = createClusterAgent({
          spec: { endpoints: order, prefix: "/three", dialTimeoutMs: 500, leaseTtlSeconds: 3, node: { name: node, zone: "z", advertise: "10.0.0.1" }, version: "test" },
          client: createEtcdClient({ endpoints: order, dialTimeoutMs: 500 }),
          send: (m) => {
            if (m.t !== "cluster.remote") return;
            if (m.full) remote.clear();
            for (const id of m.removed) remote.delete(id);
            for (const e of m.upserts) remote.set(`${e.node}/${e.id}`, e);
          },
          capacity: () => ({ cores: 1, memoryBytes: 1, load1: 0, freePorts: 7 }),
          log: () => {},
        });
        agents.push(agent);
        return { agent, remote };
      };
      // Both start on member 0, the one that goes down.
      const a = make("a", etcd.urls);
      const b = make("b", etcd.urls);
      a.agent.setLocal([ep("a", "web-0"), ep("a", "web-1")]);
      a.agent.start();
      b.agent.start();
      await waitFor(() => b.remote.size === 2 && a.agent.status().connected && b.agent.status().connected, { timeoutMs: 15_000, what: "b to see a" });
      expect(b.agent.status().endpoint).toBe(etcd.urls[0]!);
      await etcd.members[0]!.stop("SIGKILL");
      a.agent.setLocal([ep("a", "web-0"), ep("a", "web-1"), ep("a", "web-2")]);
      await waitFor(() => b.remote.size === 3, { timeoutMs: 15_000, what: "a change after the member died to reach b" });
      await waitFor(() => b.agent.status().connected && b.agent.status().endpoint !== etcd.urls[0], { timeoutMs: 15_000, what: "b on another member" });
      // Nobody's lease lapsed: both nodes stay alive in each other's view.
      expect(b.agent.members().map((m) => [m.name, m.status])).toEqual([["a", "alive"], ["b", "alive"]]);
      expect([...b.remote.keys()].sort()).toEqual(["a/web-0", "a/web-1", "a/web-2"]);
    } finally {
      for (const x of agents) await x.stop();
    }
  }, 60_000);
});

