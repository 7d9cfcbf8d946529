// Three agents (the compiled binary) on a real 3-member etcd. C reaches etcd only through TCP proxies the test
// can cut, as a host whose network goes. One member SIGKILLed: the agents carry on and changes still flow. C cut
// off: its endpoints leave the others after its lease TTL while it serves its last known catalog; link back: it
// registers again, once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, connect, type Server, type Socket } from "node:net";
import { type RunningAgent, requireBinary, startAgent } from "../support/agent.ts";
import { HAVE_ETCD, startEtcdCluster } from "../support/etcd.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson, type Json, send } from "./api-support.ts";

const LEASE_TTL_S = 2;

/** A TCP proxy on 127.0.0.1 to one upstream; cut() drops every connection and refuses new ones until mend(). */
async function faultProxy(upstream: string) {
  const u = new URL(upstream);
  const sockets = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((c) => {
    if (cut) return c.destroy();
    const up = connect(Number(u.port), u.hostname);
    sockets.add(c).add(up);
    const end = () => {
      c.destroy();
      up.destroy();
      sockets.delete(c);
      sockets.delete(up);
    };
    c.on("error", end).on("close", end);
    up.on("error", end).on("close", end);
    c.pipe(up);
    up.pipe(c);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    mend() {
      cut = false;
    },
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

describe.skipIf(!HAVE_ETCD)("3 etcd members x 3 agents", () => {
  let etcd: Awaited<ReturnType<typeof startEtcdCluster>>;
  let proxies: Array<Awaited<ReturnType<typeof faultProxy>>> = [];
  const agents: RunningAgent[] = [];
  let a: RunningAgent;
  let b: RunningAgent;
  let c: RunningAgent;

  const cluster = (name: string, address: string, endpoints: string[]) => ({ etcd: { endpoints, prefix: "/polis-topo", dial_timeout: "1s" }, node: { name, advertise: address }, lease_ttl: `${LEASE_TTL_S}s` });
  const service = async (agent: RunningAgent, name: string) => ((await getJson(agent, `/v1/services/default/${name}`).catch(() => ({ endpoints: [] }))).endpoints ?? []) as Json[];

  beforeAll(async () => {
    requireBinary();
    etcd = await startEtcdCluster(3);
    proxies = await Promise.all(etcd.urls.map((u) => faultProxy(u)));
    const svc = (name: string, address: string) => [{ name, endpoints: [{ address, port: 7000 }] }];
    agents.push((a = await startAgent({ config: { agent: { name: "topo-a" }, cluster: cluster("topo-a", "127.0.0.11", etcd.urls), services: svc("alpha", "127.0.0.11") } })));
    agents.push((b = await startAgent({ config: { agent: { name: "topo-b" }, cluster: cluster("topo-b", "127.0.0.12", etcd.urls), services: svc("beta", "127.0.0.12") } })));
    agents.push((c = await startAgent({ config: { agent: { name: "topo-c" }, cluster: cluster("topo-c", "127.0.0.13", proxies.map((p) => p.url)), services: svc("gamma", "127.0.0.13") } })));
  }, 120_000);

  afterAll(async () => {
    for (const x of agents) await x[Symbol.asyncDispose]();
    for (const p of proxies) await p.close();
    await etcd?.[Symbol.asyncDispose]();
  }, 60_000);

  test("every agent sees the other two's endpoints", async () => {
    for (const [agent, names] of [[a, ["beta", "gamma"]], [b, ["alpha", "gamma"]], [c, ["alpha", "beta"]]] as const) {
      for (const n of names) await waitFor(async () => (await service(agent, n)).length === 1, { timeoutMs: 20_000, what: `${n} on ${agent.dir}` });
    }
  }, 60_000);

  test("one etcd member SIGKILLed: the catalogs stay whole and a new registration still reaches every agent", async () => {
    await etcd.members[0]!.stop("SIGKILL");
    expect((await send(a, "PUT", "/v1/services/default/late", { endpoints: [{ id: "l1", address: "127.0.0.11", port: 7001 }] })).status).toBe(200);
    for (const agent of [b, c]) await waitFor(async () => (await service(agent, "late")).length === 1, { timeoutMs: 20_000, what: "the late registration after a member died" });
    for (const agent of [a, b, c]) await waitFor(async () => (await getJson(agent, "/v1/cluster/status")).connected === true, { timeoutMs: 20_000, what: "every agent connected to a live member" });
    expect((await service(b, "gamma")).length).toBe(1);
    expect((await service(c, "alpha")).length).toBe(1);
  }, 60_000);

  test("C cut off: its endpoints leave A and B after its lease, C serves its last catalog; back: registered again, once", async () => {
    for (const p of proxies) p.cut();
    for (const agent of [a, b]) await waitFor(async () => (await service(agent, "gamma")).length === 0, { timeoutMs: (LEASE_TTL_S + 15) * 1000, what: "C's endpoint gone after its lease" });
    const members = (await getJson(b, "/v1/cluster/members")).members as Json[];
    expect(members.find((m) => m.name === "topo-c")?.status).toBe("failed");
    await waitFor(async () => (await getJson(c, "/v1/cluster/status")).stale === true, { timeoutMs: 15_000, what: "C to go stale" });
    expect((await service(c, "alpha")).length).toBe(1);
    expect((await c.api("/readyz")).status).toBe(200);

    for (const p of proxies) p.mend();
    for (const agent of [a, b]) {
      const eps = await waitFor(async () => {
        const e = await service(agent, "gamma");
        return e.length === 1 ? e : undefined;
      }, { timeoutMs: 30_000, what: "C's endpoint back" });
      expect(eps[0]).toMatchObject({ node: "topo-c", address: "127.0.0.13", port: 7000 });
    }
    await waitFor(async () => (await getJson(c, "/v1/cluster/status")).stale === false, { timeoutMs: 15_000, what: "C to reconnect" });
    expect(((await getJson(a, "/v1/cluster/members")).members as Json[]).find((m) => m.name === "topo-c")?.status).toBe("alive");
  }, 90_000);
});
