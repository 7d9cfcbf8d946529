// The HTTP proxy's own JavaScript cost per request, without sockets: CPU ns and heap allocations per proxied request.
//
// `proxy.ts` measures the whole proxy on real sockets, where the kernel's loopback TCP work is most of the CPU and a
// shared machine moves every figure. This script isolates the part the proxy's code decides: one ClientConn over a
// fake client socket, the real picker pool (round robin over 2 endpoints) and the real UpstreamPool whose idle
// connections have fake sockets. Each request is a wrk-like GET head in, the forwarded head captured, an nginx-like
// response (head + body) in one chunk, relayed to the client: the exact calls the socket callbacks make.
// The CPU time is the process's own (process.cpuUsage), so other load on the machine changes it less than wall time
// (not nothing: a busy sibling core slows caches); it includes the garbage collections the requests cause. Rounds
// alternate the proxy loop with a loop doing only the chunk copies, which is subtracted; the median and the best
// round are reported.
//
// With --split P the pool's picker is the balancer's split picker (src/core/balancing/split.ts) with endpoint e1 on a
// rollout's new revision at P% (a canary step): the two-level pick on the same path, for a before/after ratio.
//
// Usage: bun scripts/bench/proxy-path.ts [--requests 400000] [--rounds 5] [--body 1024] [--split P] [--json]
import { createPicker } from "../../src/core/balancing/index.ts";
import { createSplitPicker } from "../../src/core/balancing/split.ts";
import type { PoolEndpoint } from "../../src/core/balancing/picker.ts";
import { createSeededRng, systemClock } from "../../src/core/time.ts";
import { createDeadlineClock } from "../../src/balancer/deadline-clock.ts";
import { ClientConn, type ClientSocket, type Shared } from "../../src/balancer/http-exchange.ts";
import { createPickerPool } from "../../src/balancer/picker-pool.ts";
import { ProxyStats } from "../../src/balancer/proxy-stats.ts";
import { RetryBudget } from "../../src/balancer/retry-budget.ts";
import { UpstreamConn, UpstreamPool } from "../../src/balancer/upstream-pool.ts";

const args = process.argv.slice(2);
const arg = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const REQUESTS = arg("requests", 400_000);
const ROUNDS = arg("rounds", 7);
const BODY = arg("body", 1024);
const JSON_OUT = args.includes("--json");
const SPLIT = args.includes("--split") ? arg("split", 10) : null;

const endpoints: PoolEndpoint[] = [0, 1].map((i) => ({ id: `e${i}`, address: "127.0.0.1", port: 18081 + i, weight: 1, active: 0, revision: i === 1 ? 2 : 1 }));
const makePicker = () => createPicker("round_robin", { rng: createSeededRng(1), clock: systemClock });
const picker = SPLIT === null ? makePicker() : createSplitPicker(makePicker, { keyed: false });
if (SPLIT !== null) (picker as ReturnType<typeof createSplitPicker>).setSplit({ revision: 2, percent: SPLIT });
const pool = createPickerPool(picker);
pool.setEndpoints(endpoints);
const upstreams = new UpstreamPool({ maxIdlePerEndpoint: 128, idleTimeoutMs: 4_000 });
const clock = createDeadlineClock();

// What the upstream socket received and what the client socket received, in bytes (checked at the end).
let toUpstream = 0, toClient = 0;
const fakeUpstreamSocket = { write: (d: Buffer) => (toUpstream += d.length, d.length), end() {}, terminate() {}, pause() {}, resume() {} };
for (const ep of endpoints) {
  const st = upstreams.state(ep);
  const up = new UpstreamConn(st);
  up.sock = fakeUpstreamSocket as never;
  up.connected = true;
  st.stats.active++;
  upstreams.release(up, clock.now);
}

const sh: Shared = {
  opts: { maxHeaderBytes: 16 * 1024, headerTimeoutMs: 10_000, clientIdleTimeoutMs: 60_000, connectTimeoutMs: 3_000, requestTimeoutMs: 30_000, maxRetries: 2, holdWhenEmptyMs: 0 },
  pool, upstreams, stats: new ProxyStats(), budget: new RetryBudget({ now: () => clock.now }), clock,
  conns: new Set(), held: new Set(), proto: "http", via: "polis", closing: false, shed: 0,
};
const client = { write: (d: Buffer) => (toClient += d.length, d.length), end() {}, terminate() {}, pause() {}, resume() {} };
const conn = new ClientConn(client as unknown as ClientSocket, sh, "127.0.0.1");
sh.conns.add(conn);

// wrk's request and nginx's response head (its Connection: keep-alive line included), as they arrive.
const request = Buffer.from("GET /1k HTTP/1.1\r\nHost: 127.0.0.1:40000\r\n\r\n");
const responseHead = `HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 20:24:06 GMT\r\nContent-Type: application/octet-stream\r\nContent-Length: ${BODY}\r\nLast-Modified: Tue, 01 Dec 2026 20:24:01 GMT\r\nConnection: keep-alive\r\nETag: "6b0f2ce1-400"\r\nAccept-Ranges: bytes\r\n\r\n`;
const response = Buffer.concat([Buffer.from(responseHead), Buffer.alloc(BODY, 97)]);

/** One request through the exchange; fresh Buffers per chunk, as the socket callbacks get them. */
function once(): void {
  const req = Buffer.allocUnsafe(request.length);
  request.copy(req);
  conn.onData(req);
  const up = conn.up!;
  const res = Buffer.allocUnsafe(response.length);
  response.copy(res);
  up.owner!.onUpstreamData(up, res);
}

/** The same two chunk copies with no proxy work: subtracted, so the figure is the proxy's own. */
function copiesOnly(): void {
  const req = Buffer.allocUnsafe(request.length);
  request.copy(req);
  const res = Buffer.allocUnsafe(response.length);
  response.copy(res);
  toClient += req.length + res.length - req.length - res.length;
}

function cpuNs(f: () => void, n: number): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / n;
}

for (let i = 0; i < 50_000; i++) once(); // warm the JIT
const rows: { round: number; nsPerRequest: number; baselineNs: number }[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const base = cpuNs(copiesOnly, REQUESTS);
  const ns = cpuNs(once, REQUESTS);
  rows.push({ round: r + 1, nsPerRequest: ns - base, baselineNs: base });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const served = sh.stats.requests;
if (sh.stats.responses[2] !== served || toUpstream === 0) throw new Error(`requests were not all answered 200 (${served} requests, ${sh.stats.responses[2]} 2xx)`);
const med = median(rows.map((x) => x.nsPerRequest));
const best = Math.min(...rows.map((x) => x.nsPerRequest));
if (JSON_OUT) console.log(JSON.stringify({ body: BODY, split: SPLIT, rounds: rows, medianNs: med, bestNs: best }));
else {
  console.log(`HTTP exchange over fake sockets, ${BODY} B body, ${REQUESTS} requests x ${ROUNDS} rounds (chunk copies subtracted)${SPLIT === null ? "" : `, traffic split ${SPLIT}% to e1`}`);
  for (const x of rows) console.log(`  round ${x.round}: ${x.nsPerRequest.toFixed(0)} ns/request (copies alone ${x.baselineNs.toFixed(0)} ns)`);
  console.log(`proxy code per request: median ${med.toFixed(0)} ns, best ${best.toFixed(0)} ns; ${(toUpstream / served).toFixed(0)} B forwarded upstream per request`);
}
