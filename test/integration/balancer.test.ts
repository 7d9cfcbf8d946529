// The compiled agent's balancers in front of its own demo app replicas: spreading, draining, TCP mode.
import { describe, expect, test } from "bun:test";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";

interface ReplicaInfo {
  id: number;
  pid: number | null;
  port: number | null;
  state: string;
  restarts: number;
}
interface EndpointInfo {
  id: string;
  port: number;
  draining: boolean;
  stats: { requests: number };
}

/** A port nobody holds right now: every balancer worker must bind the same one, so port 0 will not do. */
function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** A replica port range unlikely to meet another test's: the agent skips ports already listening anyway. */
function portRange(): [number, number] {
  const from = 20_000 + Math.floor(Math.random() * 400) * 50;
  return [from, from + 49];
}

function demoApp(name: string, replicas: number | { min: number; max: number }) {
  return {
    name,
    command: "@self",
    args: ["demo-app"],
    replicas,
    port: { range: portRange() },
    readiness: { kind: "port", timeout: "20s" },
    stop: { timeout: "5s" },
  };
}

async function startWith(app: Record<string, unknown>, balancer: Record<string, unknown>, workers = 1) {
  const port = freePort();
  const agent = await startAgent({
    config: { agent: { balancer_workers: workers }, apps: [app], balancers: [{ name: "web", listen: `127.0.0.1:${port}`, backends: { app: app.name }, ...balancer }] },
  });
  return { agent, port };
}

async function replicas(agent: RunningAgent, app: string): Promise<ReplicaInfo[]> {
  const res = await agent.api(`/v1/apps/${app}`);
  if (res.status !== 200) return [];
  return ((await res.json()) as { replicas: ReplicaInfo[] }).replicas;
}

async function endpoints(agent: RunningAgent): Promise<EndpointInfo[]> {
  const body = (await (await agent.api("/v1/balancers/web")).json()) as { endpoints: EndpointInfo[] };
  return body.endpoints;
}

const allReady = (agent: RunningAgent, app: string, n: number) =>
  waitFor(
    async () => {
      const rs = await replicas(agent, app);
      const eps = await endpoints(agent);
      return rs.length === n && rs.every((r) => r.state === "ready") && eps.length === n ? rs : undefined;
    },
    { timeoutMs: 30_000, what: `${n} ready replicas of ${app} behind the balancer` },
  );

/** "hello from demo-1 (pid ...)" -> "demo-1". */
const replicaOf = (body: string) => /^hello from (\S+) /.exec(body)?.[1];

/** GETs through the balancer from `concurrency` loops until `stop()` resolves; counts replies per replica. */
function load(port: number, concurrency = 8) {
  let running = true;
  const byReplica = new Map<string, number>();
  const failures: string[] = [];
  let ok = 0;
  const loop = async () => {
    while (running) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        const body = await res.text();
        const who = replicaOf(body);
        if (res.status !== 200 || !who) failures.push(`${res.status} ${body.slice(0, 120)}`);
        else {
          ok++;
          byReplica.set(who, (byReplica.get(who) ?? 0) + 1);
        }
      } catch (e) {
        failures.push(String(e));
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    byReplica,
    failures,
    get ok() {
      return ok;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe("the HTTP balancer in front of app replicas", () => {
  test("requests are spread across every replica, and the API lists each replica with pid, port, ready and no restarts", async () => {
    const { agent, port } = await startWith(demoApp("demo", 3), { algorithm: "round_robin" });
    await using _ = agent;
    const rs = await allReady(agent, "demo", 3);
    for (const r of rs) {
      expect(r.pid).toBeGreaterThan(0);
      expect(r.port).toBeGreaterThan(0);
      expect(r.state).toBe("ready");
      expect(r.restarts).toBe(0);
    }
    expect(new Set(rs.map((r) => r.port)).size).toBe(3);
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(res.status).toBe(200);
      seen.add(replicaOf(await res.text()) ?? "?");
    }
    expect([...seen].sort()).toEqual(rs.map((r) => `demo-${r.id}`).sort());
  }, 60_000);

  test("a drained endpoint gets no new requests while the others serve every request", async () => {
    const { agent, port } = await startWith(demoApp("demo", 3), {});
    await using _ = agent;
    const rs = await allReady(agent, "demo", 3);
    const victim = rs[0]!;
    const eps = await endpoints(agent);
    const ep = eps.find((e) => e.port === victim.port)!;
    expect(ep).toBeDefined();

    const before = load(port);
    await waitFor(() => before.ok >= 50 && before.byReplica.has(`demo-${victim.id}`), { timeoutMs: 20_000, what: "load reaching the victim" });
    const res = await agent.api(`/v1/balancers/web/endpoints/${ep.id}/drain`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ endpoint: ep.id, drained: true, inFlight: 0 });
    await before.stop();
    expect(before.failures).toEqual([]);

    const after = load(port);
    await waitFor(() => after.ok >= 200, { timeoutMs: 30_000, what: "200 requests after the drain" });
    await after.stop();
    expect(after.failures).toEqual([]);
    expect(after.byReplica.get(`demo-${victim.id}`) ?? 0).toBe(0);
    expect(after.byReplica.size).toBe(2);
    expect((await endpoints(agent)).find((e) => e.id === ep.id)?.draining).toBe(true);
  }, 90_000);
});

describe("the TCP balancer in front of app replicas", () => {
  test("an HTTP request passes through it unchanged and reaches a replica", async () => {
    const { agent, port } = await startWith(demoApp("demo", 2), { protocol: "tcp", algorithm: "round_robin" });
    await using _ = agent;
    const rs = await allReady(agent, "demo", 2);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } });
      expect(res.status).toBe(200);
      seen.add(replicaOf(await res.text()) ?? "?");
    }
    expect([...seen].every((s) => rs.some((r) => s === `demo-${r.id}`))).toBe(true);
    expect(seen.size).toBe(2);
    const view = (await (await agent.api("/v1/balancers/web")).json()) as { protocol: string };
    expect(view.protocol).toBe("tcp");
  }, 60_000);
});
