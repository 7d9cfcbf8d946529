// Benchmark: N TCP checks at a 1 s interval through the checker vs a bare loop making the same connects.
//
// Usage: bun scripts/bench/health.ts [--duration 30] [--checks 10000] [--listeners 8] [--interval 1000]
// The listeners run in a child process (this same file with --serve) so the CPU measured here is the
// probing side only. Reports schedule lag p50/p99 (run start minus due time), CPU used, and the ratio of
// the checker's CPU to the bare loop's for the same connect rate.
import { createChecker } from "../../src/health/checker.ts";
import { stagger } from "../../src/core/health/scheduler.ts";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  const raw = eq ? eq.split("=")[1] : i >= 0 ? process.argv[i + 1] : undefined;
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

if (process.argv.includes("--serve")) {
  const count = flag("listeners", 8);
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    ports.push(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, error() {} } }).port);
  }
  console.log(JSON.stringify({ ports }));
  // Exit with the parent: it closes our stdin.
  for await (const _ of Bun.stdin.stream()) {
  }
  process.exit(0);
}

const durationS = flag("duration", 30);
const checks = flag("checks", 10_000);
const listeners = flag("listeners", 8);
const intervalMs = flag("interval", 1000);
const WARMUP_MS = 2 * intervalMs; // let the first staggered round and the accept queues settle

const server = Bun.spawn([process.execPath, import.meta.path, "--serve", "--listeners", String(listeners)], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
const reader = server.stdout.getReader();
let line = "";
const readDeadline = Date.now() + 10_000;
while (!line.includes("\n")) {
  if (Date.now() > readDeadline) throw new Error("listener process did not start");
  const { value, done } = await reader.read();
  if (done) throw new Error("listener process exited");
  line += new TextDecoder().decode(value);
}
const { ports } = JSON.parse(line.trim()) as { ports: number[] };
const targets = Array.from({ length: checks }, (_, i) => `127.0.0.1:${ports[i % ports.length]}`);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function runChecker() {
  const lags: number[] = [];
  let measuring = false;
  let results = 0;
  let critical = 0;
  const checker = createChecker({
    summaryIntervalMs: 0,
    onRunStart: (_id, lag) => {
      if (measuring) lags.push(lag);
    },
    onTransition: (_id, _from, to) => {
      if (to === "critical") critical++;
    },
  });
  for (let i = 0; i < checks; i++) {
    const r = checker.add({ id: `c${i}`, kind: "tcp", target: targets[i], intervalMs, timeoutMs: intervalMs - 100 });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
  }
  checker.start();
  await Bun.sleep(WARMUP_MS);
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Bun.sleep(durationS * 1000);
  const cpu = cpuMs(process.cpuUsage(cpu0));
  const wall = performance.now() - t0;
  measuring = false;
  results = lags.length;
  checker.stop();
  await checker.idle();
  const summaries = checker.summaries();
  const notPassing = summaries.filter((s) => s.status !== "passing").length;
  lags.sort((a, b) => a - b);
  return { cpu, wall, runs: results, critical, notPassing, p50: percentile(lags, 0.5), p99: percentile(lags, 0.99), max: lags[lags.length - 1] ?? NaN };
}

/** The same connects at the same spread, without scheduler, thresholds, history, timers or abort signals. */
async function runBare() {
  const slotMs = 10;
  const slots: number[][] = Array.from({ length: Math.ceil(intervalMs / slotMs) }, () => []);
  for (let i = 0; i < checks; i++) slots[Math.floor((stagger(`c${i}`, intervalMs, 0) % intervalMs) / slotMs)].push(i);
  let done = 0;
  let failed = 0;
  const connect = (target: string) => {
    const [host, port] = target.split(":");
    Bun.connect({
      hostname: host,
      port: Number(port),
      socket: {
        open(s) {
          done++;
          s.end();
        },
        data() {},
        connectError() {
          failed++;
        },
      },
    }).catch(() => failed++);
  };
  let slot = 0;
  const start = performance.now();
  let stop = false;
  const loop = () => {
    if (stop) return;
    // Catch up on every slot whose time has come, like a timer wheel with no bookkeeping.
    const target = Math.floor((performance.now() - start) / slotMs);
    while (slot <= target) {
      for (const i of slots[slot % slots.length]) connect(targets[i]);
      slot++;
    }
    setTimeout(loop, slotMs);
  };
  loop();
  await Bun.sleep(WARMUP_MS);
  const done0 = done;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Bun.sleep(durationS * 1000);
  const cpu = cpuMs(process.cpuUsage(cpu0));
  const wall = performance.now() - t0;
  stop = true;
  await Bun.sleep(200);
  return { cpu, wall, connects: done - done0, failed };
}

try {
  console.log(`health bench: ${checks} TCP checks every ${intervalMs} ms against ${ports.length} listeners, ${durationS} s per phase`);
  const c = await runChecker();
  console.log(
    `checker: runs ${c.runs} (${(c.runs / (c.wall / 1000)).toFixed(0)}/s), schedule lag p50 ${c.p50.toFixed(2)} ms, p99 ${c.p99.toFixed(2)} ms, max ${c.max.toFixed(2)} ms; ` +
      `CPU ${c.cpu.toFixed(0)} ms over ${(c.wall / 1000).toFixed(1)} s (${((c.cpu / c.wall) * 100).toFixed(1)}% of one core); critical transitions ${c.critical}, not passing at end ${c.notPassing}`,
  );
  await Bun.sleep(1000);
  const b = await runBare();
  console.log(`bare loop: connects ${b.connects} (${(b.connects / (b.wall / 1000)).toFixed(0)}/s), failed ${b.failed}; CPU ${b.cpu.toFixed(0)} ms (${((b.cpu / b.wall) * 100).toFixed(1)}% of one core)`);
  const perRunChecker = c.cpu / Math.max(1, c.runs);
  const perConnectBare = b.cpu / Math.max(1, b.connects);
  console.log(`CPU ratio checker/bare: ${(c.cpu / b.cpu).toFixed(2)}x total, ${(perRunChecker / perConnectBare).toFixed(2)}x per connect (${(perRunChecker * 1000).toFixed(1)} vs ${(perConnectBare * 1000).toFixed(1)} us)`);
} finally {
  server.stdin.end();
  server.kill();
  await server.exited;
}
