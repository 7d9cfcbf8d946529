// Failover: kill -9 one of 3 replicas behind the agent's HTTP balancer, then time (median of N runs)
// - until the balancer's pool no longer lists it (what the supervisor pushes to the balancer workers),
// - until the last client request routed to it fails (data plane; retries and outlier ejection are off here so
//   nothing hides a request sent to the dead replica),
// - until its replacement is ready and back in the pool,
// next to the health check interval, which bounds detection when only probes can tell (a hung process).
// Usage: bun scripts/bench/failover.ts [--runs 10]   (needs dist/polis: npm run build)
import { freePort, loadAverage, median, portRange, startAgent } from "./_agent.ts";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg("runs", 10);
const REPLICAS = 3;
const CHECK_INTERVAL_MS = 1000;
const FAILURES_BEFORE_CRITICAL = 2;
const CLIENTS = 4;

interface Replica {
  id: number;
  pid: number | null;
  state: string;
}
interface Endpoint {
  id: string;
  health: string;
  draining: boolean;
}

const lbPort = freePort();
const [from, to] = portRange();
await using agent = await startAgent({
  config: {
    apps: [{ name: "demo", command: "@self", args: ["demo-app"], replicas: REPLICAS, port: { range: [from, to] }, readiness: { kind: "port", timeout: "10s" }, checks: [{ name: "http", kind: "http", path: "/healthz", interval: `${CHECK_INTERVAL_MS}ms`, timeout: "500ms", failures_before_critical: FAILURES_BEFORE_CRITICAL }] }],
    balancers: [{ name: "web", listen: `127.0.0.1:${lbPort}`, protocol: "http", backends: { app: "demo" }, algorithm: "round_robin", retries: { max: 0 }, outlier: { enabled: false } }],
  },
});
const url = `http://127.0.0.1:${lbPort}/`;
const replicas = async () => ((await (await agent.api("/v1/apps/demo")).json()) as { replicas: Replica[] }).replicas;
const pool = async () => ((await (await agent.api("/v1/balancers/web")).json()) as { endpoints: Endpoint[] }).endpoints;
const inPool = (eps: Endpoint[], id: string) => eps.some((e) => e.id === id && e.health === "passing" && !e.draining);

async function until<T>(probe: () => Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(1);
  }
}

const removed: number[] = [];
const lastFailure: number[] = [];
const failures: number[] = [];
const ready: number[] = [];
const load = loadAverage();
for (let run = 0; run < RUNS; run++) {
  const all = await until(async () => {
    const [rs, eps] = await Promise.all([replicas(), pool()]);
    return rs.length === REPLICAS && rs.every((r) => r.state === "ready" && inPool(eps, `demo-${r.id}`)) ? rs : undefined;
  }, "every replica ready and in the pool");
  const victim = all[run % REPLICAS]!;
  const epId = `demo-${victim.id}`;
  let stop = false;
  let t0 = 0;
  const failedAt: number[] = [];
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (!stop) {
      const ok = await fetch(url).then((r) => r.arrayBuffer().then(() => r.ok), () => false);
      if (!ok && t0 > 0) failedAt.push(performance.now() - t0);
    }
  });
  await Bun.sleep(100);
  t0 = performance.now();
  process.kill(victim.pid!, "SIGKILL");
  removed.push(await until(async () => (inPool(await pool(), epId) ? undefined : performance.now() - t0), "the endpoint leaves the pool"));
  ready.push(
    await until(async () => {
      const [rs, eps] = await Promise.all([replicas(), pool()]);
      const r = rs.find((x) => x.id === victim.id);
      return r && r.state === "ready" && r.pid !== victim.pid && inPool(eps, epId) ? performance.now() - t0 : undefined;
    }, "the replacement ready and in the pool"),
  );
  await Bun.sleep(100);
  stop = true;
  await Promise.all(clients);
  failures.push(failedAt.length);
  lastFailure.push(failedAt.length > 0 ? Math.max(...failedAt) : 0);
}
const f = (ms: number) => `${ms.toFixed(1)} ms`;
const vsInterval = (ms: number) => `${(ms / CHECK_INTERVAL_MS).toFixed(3)}× the check interval`;
const probeBound = CHECK_INTERVAL_MS * FAILURES_BEFORE_CRITICAL;
console.log(`load average at start: ${load}; ${RUNS} runs, ${REPLICAS} replicas, ${CLIENTS} sequential clients, health check every ${CHECK_INTERVAL_MS} ms (critical after ${FAILURES_BEFORE_CRITICAL} failures: ~${probeBound} ms if only probes could tell)`);
console.log(`kill -9 → endpoint out of the balancer's pool: median ${f(median(removed))} (${vsInterval(median(removed))}; max ${f(Math.max(...removed))})`);
console.log(`kill -9 → last client request routed to it:   median ${f(median(lastFailure))} (${vsInterval(median(lastFailure))}; failed requests per run: median ${median(failures)}, max ${Math.max(...failures)})`);
console.log(`kill -9 → replacement ready and in the pool:   median ${f(median(ready))} (${vsInterval(median(ready))})`);
console.log(JSON.stringify({ runs: RUNS, load, checkIntervalMs: CHECK_INTERVAL_MS, removed, lastFailure, failures, ready }));
