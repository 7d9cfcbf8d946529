// Rolling restart under load: the compiled agent runs 4 replicas of the demo app behind its HTTP balancer; wrk
// drives it for DURATION seconds without restarts, then again while rolling restarts run back to back.
// Reports failed requests (non-2xx + socket errors; goal 0) and req/s during the restarts vs without.
// Usage: bun scripts/bench/rolling.ts [--duration 15]   (needs dist/polis: npm run build)
import { freePort, loadAverage, portRange, startAgent } from "./_agent.ts";
import { ensureWrk, startWrk } from "./_wrk.ts";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const DURATION = arg("duration", 15);
const REPLICAS = 4;

await ensureWrk();
const lbPort = freePort();
const [from, to] = portRange();
await using agent = await startAgent({
  config: {
    agent: { balancer_workers: 2 },
    apps: [{ name: "demo", command: "@self", args: ["demo-app"], replicas: REPLICAS, port: { range: [from, to] }, readiness: { kind: "port", timeout: "10s" }, stop: { timeout: "5s" }, checks: [{ name: "http", kind: "http", path: "/healthz", interval: "2s", timeout: "1s" }] }],
    balancers: [{ name: "web", listen: `127.0.0.1:${lbPort}`, protocol: "http", backends: { app: "demo" }, algorithm: "least_request" }],
  },
});
const url = `http://127.0.0.1:${lbPort}/`;
const deadline = Date.now() + 30_000;
for (;;) {
  const app = (await (await agent.api("/v1/apps/demo")).json()) as { ready: number };
  const ok = await fetch(url).then((r) => r.ok, () => false);
  if (app.ready === REPLICAS && ok) break;
  if (Date.now() > deadline) throw new Error("demo app never got 4 ready replicas behind the balancer");
  await Bun.sleep(50);
}
await startWrk(url, 2); // warm-up: connections, pools, JIT

const load = loadAverage();
const steady = await startWrk(url, DURATION);
const rollingRun = startWrk(url, DURATION);
const t0 = Date.now();
await Bun.sleep(1000);
let restarts = 0;
let aborted = 0;
const rollMs: number[] = [];
// Back to back so the whole measured window is "during a rolling restart"; stop early enough not to overrun wrk.
while (Date.now() - t0 < (DURATION - 3) * 1000) {
  const s = Date.now();
  const res = await agent.api("/v1/apps/demo/restart", { method: "POST" });
  const body = (await res.json()) as { status?: string };
  if (res.status !== 200 || body.status !== "done") aborted++;
  restarts++;
  rollMs.push(Date.now() - s);
}
const rolling = await rollingRun;
const failed = (w: typeof steady) => w.non2xx + w.socketErrors;
console.log(`load average at start: ${load}; wrk -c50 -t2 -d${DURATION}s keep-alive; ${REPLICAS} replicas, 2 balancer workers`);
console.log(`without restarts: ${steady.rps.toFixed(0)} req/s, ${failed(steady)} failed (non-2xx ${steady.non2xx}, socket errors ${steady.socketErrors}), p99 ${steady.p99Ms} ms`);
console.log(`during ${restarts} back-to-back rolling restarts (${aborted} aborted; each took ${rollMs.map((m) => (m / 1000).toFixed(1)).join(", ")} s): ${rolling.rps.toFixed(0)} req/s, ${failed(rolling)} failed (non-2xx ${rolling.non2xx}, socket errors ${rolling.socketErrors}), p99 ${rolling.p99Ms} ms`);
console.log(`ratio req/s during rolling restarts / without: ${(rolling.rps / steady.rps).toFixed(2)}×; failed requests: ${failed(rolling)} of ${rolling.requests} (goal 0)`);
console.log(JSON.stringify({ duration: DURATION, load, restarts, aborted, steady: { ...steady, raw: undefined }, rolling: { ...rolling, raw: undefined } }));
if (failed(rolling) > 0) console.log(rolling.raw);
