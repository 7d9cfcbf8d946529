// Two real agents (the compiled binary) on one real etcd, as two hosts on distinct loopback addresses: an app on A
// is resolved over DNS and balanced to from B; B keeps serving its last known catalog while etcd is down and
// catches up when it returns; A killed with SIGKILL disappears from B after its lease TTL; `polis members` shows it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type RunningAgent, requireBinary, startAgent } from "../support/agent.ts";
import { HAVE_ETCD, type RunningEtcd, startEtcd } from "../support/etcd.ts";
import { waitFor } from "../support/wait-for.ts";
import { freePort, getJson, type Json, send } from "./api-support.ts";

const DIG = "/usr/bin/dig";
const LEASE_TTL_S = 3;

describe.skipIf(!HAVE_ETCD)("cluster discovery across two agents on real etcd", () => {
  let etcd: RunningEtcd;
  let a: RunningAgent;
  let b: RunningAgent;
  let balancerPort: number;
  let dnsPort: number;
  const replicaPids: number[] = [];

  const cluster = (name: string, address: string, zone: string) => ({ etcd: { endpoints: [etcd.url], prefix: "/polis-test", dial_timeout: "1s" }, node: { name, zone, advertise: address }, lease_ttl: `${LEASE_TTL_S}s` });
  const remoteWeb = async () => ((await getJson(b, "/v1/services/default/web").catch(() => ({ endpoints: [] }))).endpoints ?? []) as Json[];
  const viaBalancer = () => fetch(`http://127.0.0.1:${balancerPort}/`, { signal: AbortSignal.timeout(3000) }).then(async (r) => ({ status: r.status, text: await r.text() }));

  beforeAll(async () => {
    etcd = await startEtcd();
    balancerPort = await freePort();
    dnsPort = await freePort();
    const base = 20_000 + Math.floor(Math.random() * 100) * 50;
    a = await startAgent({
      config: {
        agent: { name: "node-a" },
        cluster: cluster("node-a", "127.0.0.11", "z1"),
        apps: [{ name: "web", command: "@self", args: ["demo-app"], replicas: 1, port: { range: [base, base + 9] }, readiness: { kind: "port", timeout: "10s" }, stop: { timeout: "2s" }, checks: [{ name: "http", kind: "http", path: "/healthz", interval: "1s", timeout: "500ms" }] }],
      },
    });
    b = await startAgent({
      config: {
        agent: { name: "node-b" },
        cluster: cluster("node-b", "127.0.0.12", "z2"),
        dns: { listen: `127.0.0.1:${dnsPort}`, ttl: "0s" },
        balancers: [{ name: "front", listen: `127.0.0.1:${balancerPort}`, protocol: "http", backends: { service: "web" }, retries: { max: 0 } }],
      },
    });
  }, 90_000);

  afterAll(async () => {
    await a?.[Symbol.asyncDispose]();
    await b?.[Symbol.asyncDispose]();
    // A's replicas outlive its SIGKILL (their own process groups): end them by the pids A reported.
    for (const pid of replicaPids) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {}
    }
    await etcd?.[Symbol.asyncDispose]();
  }, 90_000);

  test("B's catalog holds A's replica, tagged with A's node and zone, at A's advertise address", async () => {
    const eps = await waitFor(async () => {
      const e = await remoteWeb();
      return e.length === 1 && e[0]!.health === "passing" ? e : undefined;
    }, { timeoutMs: 20_000, what: "A's web endpoint in B's catalog" });
    expect(eps[0]).toMatchObject({ id: "web-0@node-a", node: "node-a", zone: "z1", address: "127.0.0.11" });
    const s = await getJson(b, "/v1/services/default/web");
    expect(s.source).toBe("cluster");
    for (const r of (await getJson(a, "/v1/apps/web")).replicas as Json[]) if (typeof r.pid === "number") replicaPids.push(r.pid);
    expect(replicaPids.length).toBe(1);
  }, 30_000);

  test("B's balancer forwards to A's replica", async () => {
    const r = await waitFor(async () => {
      const x = await viaBalancer();
      return x.status === 200 ? x : undefined;
    }, { timeoutMs: 10_000, what: "a 200 through B's balancer" });
    expect(r.text).toContain("hello from web-0");
  }, 20_000);

  const dig = async (...args: string[]) => {
    const p = Bun.spawn([DIG, "@127.0.0.1", "-p", String(dnsPort), "+time=2", "+tries=2", ...args], { stdout: "pipe", stderr: "pipe" });
    const out = await new Response(p.stdout).text();
    await p.exited;
    return out;
  };

  test.skipIf(!existsSync(DIG))("B's DNS answers web.polis. with A's address, and node-local names per node", async () => {
    expect((await dig("+short", "web.polis.", "A")).trim().split("\n")).toEqual(["127.0.0.11"]);
    expect((await dig("+short", "web.node-a.node.polis.", "A")).trim()).toBe("127.0.0.11");
    expect(await dig("web.default.node-b.node.polis.", "A")).toContain("status: NXDOMAIN");
  }, 20_000);

  test("`polis members` on B lists both nodes alive with zone and address", async () => {
    const p = Bun.spawn([requireBinary(), "members", "--json", "--url", b.url, "--token", b.token], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code).toBe(0);
    const members = (JSON.parse(out).members as Json[]).map((m) => [m.name, m.zone, m.advertise, m.status, m.self]);
    expect(members).toEqual([
      ["node-a", "z1", "127.0.0.11", "alive", false],
      ["node-b", "z2", "127.0.0.12", "alive", true],
    ]);
    // A's app range holds 10 ports, one taken by its replica; B runs no app.
    expect((JSON.parse(out).members as Json[]).map((m) => [m.name, m.capacity.freePorts])).toEqual([["node-a", 9], ["node-b", 0]]);
    const table = Bun.spawnSync([requireBinary(), "members", "--url", b.url, "--token", b.token], { env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" } });
    expect(table.stdout.toString()).toMatch(/node-a\s+z1\s+127\.0\.0\.11\s+alive/);
    const resolve = Bun.spawnSync([requireBinary(), "resolve", "web", "--url", b.url, "--token", b.token], { env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" } });
    expect(resolve.stdout.toString()).toMatch(/web-0@node-a\s+127\.0\.0\.11\s+\d+\s+passing\s+1\s+node-a \(z1\)/);
  }, 20_000);

  test("B's /v1/cluster/status and /metrics show the etcd link and the members by status", async () => {
    const s = await getJson(b, "/v1/cluster/status");
    expect(s).toMatchObject({ enabled: true, node: "node-b", connected: true, stale: false, members: { alive: 2, suspect: 0, left: 0, failed: 0 } });
    expect(s.remoteEndpoints).toBeGreaterThanOrEqual(1);
    const text = await (await fetch(`${b.url}/metrics`)).text();
    expect(text).toMatch(/polis_cluster_members\{[^}]*status="alive"[^}]*\} 2/);
    expect(text).toMatch(/^polis_cluster_stale 0$/m);
  }, 20_000);

  test("with etcd stopped B keeps balancing from its last known catalog, marked stale; it catches up when etcd returns", async () => {
    await etcd.stop();
    await waitFor(async () => (await getJson(b, "/v1/cluster/status")).stale === true, { timeoutMs: 15_000, what: "B to notice etcd is gone" });
    const ready = await b.api("/readyz");
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as Json).detail.cluster).toMatchObject({ stale: true, connected: false });
    expect((await remoteWeb()).map((e) => e.id)).toEqual(["web-0@node-a"]);
    for (let i = 0; i < 5; i++) expect((await viaBalancer()).status).toBe(200);
    // A registers a service while etcd is down: it reaches B once etcd is back.
    expect((await send(a, "PUT", "/v1/services/default/late", { endpoints: [{ id: "l1", address: "127.0.0.11", port: 7001 }] })).status).toBe(200);
    await etcd.start();
    await waitFor(async () => (await getJson(b, "/v1/cluster/status")).stale === false, { timeoutMs: 20_000, what: "B to reconnect" });
    const late = await waitFor(async () => {
      const s = await getJson(b, "/v1/services/default/late").catch(() => undefined);
      return s?.endpoints?.length === 1 ? s : undefined;
    }, { timeoutMs: 20_000, what: "A's late registration on B" });
    expect(late.endpoints[0]).toMatchObject({ id: "l1@node-a", node: "node-a", address: "127.0.0.11", port: 7001 });
    expect((await remoteWeb()).map((e) => e.id)).toEqual(["web-0@node-a"]);
  }, 60_000);

  test("A killed with SIGKILL vanishes from B once its lease expires; members shows it failed", async () => {
    await a.stop("SIGKILL");
    const killedAt = Date.now();
    await waitFor(async () => (await remoteWeb()).length === 0, { timeoutMs: (LEASE_TTL_S + 10) * 1000, what: "A's endpoints to leave B's catalog" });
    // Not a timing goal (that lives in the benchmark): the lease, not some other path, removed it.
    expect(Date.now() - killedAt).toBeGreaterThan(1000);
    expect((await b.api("/v1/services/default/web")).status).toBe(404);
    const members = (await getJson(b, "/v1/cluster/members")).members as Json[];
    expect(members.find((m) => m.name === "node-a")?.status).toBe("failed");
    expect((await viaBalancer()).status).toBe(503);
  }, 30_000);
});
