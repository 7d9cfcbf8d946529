// Benchmark: N TCP checks at a 1 s interval through the checker vs a bare loop making the same connects.
//
// Usage: bun scripts/bench/health.ts [--duration 30] [--checks 10000] [--listeners 8] [--interval 1000] [--slice 5]
// The listeners run in a child process (this same file with --serve) so the CPU measured here is the
// probing side only. The two contenders alternate in slices (each slice starts fresh and is measured
// after one interval of warm-up), so load from other programs on the machine hits both alike.
// Reports schedule lag p50/p99 (run start minus due time), CPU used, and the CPU ratio checker/bare.
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
const sliceS = flag("slice", 5);
const WARMUP_MS = intervalMs; // the first staggered round ramps up; measure from the second

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
const countReason = (m: Map<string, number>, why: string) => m.set(why, (m.get(why) ?? 0) + 1);
const listReasons = (m: Map<string, number>) => [...m].map(([k, n]) => `${k} x${n}`).join("; ");

interface Totals {
  cpu: number;
  wall: number;
  ops: number;
  failed: number;
  reasons: Map<string, number>;
}
const totals = (): Totals => ({ cpu: 0, wall: 0, ops: 0, failed: 0, reasons: new Map() });
const lags: number[] = [];

/** Runs `start` for one slice; measures CPU and ops after the warm-up; `stop` must end all activity. */
async function slice(t: Totals, start: (measuring: () => boolean) => { ops: () => number; stop: () => Promise<void> }) {
  let measuring = false;
  const run = start(() => measuring);
  await Bun.sleep(WARMUP_MS);
  const ops0 = run.ops();
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Bun.sleep(sliceS * 1000);
  t.cpu += cpuMs(process.cpuUsage(cpu0));
  t.wall += performance.now() - t0;
  t.ops += run.ops() - ops0;
  measuring = false;
  await run.stop();
}

function startChecker(t: Totals) {
  return (measuring: () => boolean) => {
    let runs = 0;
    const checker = createChecker({
      summaryIntervalMs: 0,
      onRunStart: (_id, lag) => {
        runs++;
        if (measuring()) lags.push(lag);
      },
      onTransition: (_id, _from, to, r) => {
        if (to !== "critical" || !measuring()) return;
        t.failed++;
        countReason(t.reasons, r.output.replace(/127\.0\.0\.1:\d+/g, "ADDR"));
      },
    });
    for (let i = 0; i < checks; i++) {
      const r = checker.add({ id: `c${i}`, kind: "tcp", target: targets[i], intervalMs, timeoutMs: intervalMs - 100 });
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
    }
    checker.start();
    return {
      ops: () => runs,
      stop: async () => {
        checker.stop();
        await checker.idle();
      },
    };
  };
}

/** The same connects at the same spread, without scheduler, thresholds, history, timers or abort signals. */
function startBare(t: Totals) {
  return (measuring: () => boolean) => {
    const slotMs = 10;
    const slots: number[][] = Array.from({ length: Math.ceil(intervalMs / slotMs) }, () => []);
    for (let i = 0; i < checks; i++) slots[Math.floor((stagger(`c${i}`, intervalMs, 0) % intervalMs) / slotMs)].push(i);
    let opened = 0;
    const fail = (why: string) => {
      if (!measuring()) return;
      t.failed++;
      countReason(t.reasons, why);
    };
    const connect = (target: string) => {
      const [host, port] = target.split(":");
      Bun.connect({
        hostname: host,
        port: Number(port),
        socket: {
          open(s) {
            opened++;
            s.end();
          },
          data() {},
          connectError: (_s, e) => fail(e.message),
        },
      }).catch((e: Error) => fail(e.message));
    };
    let slot = 0;
    const start = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const loop = () => {
      // Every slot whose time has come, like a timer wheel with no bookkeeping.
      const target = Math.floor((performance.now() - start) / slotMs);
      while (slot <= target) {
        for (const i of slots[slot % slots.length]) connect(targets[i]);
        slot++;
      }
      timer = setTimeout(loop, slotMs);
    };
    loop();
    return {
      ops: () => opened,
      stop: async () => {
        clearTimeout(timer);
        await Bun.sleep(200);
      },
    };
  };
}

try {
  const rounds = Math.max(1, Math.round(durationS / sliceS));
  console.log(`health bench: ${checks} TCP checks every ${intervalMs} ms, ${ports.length} listeners, ${rounds} x ${sliceS} s measured per contender (alternating)`);
  const c = totals();
  const b = totals();
  for (let r = 0; r < rounds; r++) {
    await slice(c, startChecker(c));
    await slice(b, startBare(b));
  }
  lags.sort((x, y) => x - y);
  const rate = (t: Totals) => (t.ops / (t.wall / 1000)).toFixed(0);
  const core = (t: Totals) => ((t.cpu / t.wall) * 100).toFixed(1);
  console.log(
    `checker: runs ${c.ops} (${rate(c)}/s); schedule lag p50 ${percentile(lags, 0.5).toFixed(2)} ms, p99 ${percentile(lags, 0.99).toFixed(2)} ms, max ${lags[lags.length - 1]?.toFixed(2)} ms; ` +
      `CPU ${c.cpu.toFixed(0)} ms over ${(c.wall / 1000).toFixed(1)} s (${core(c)}% of one core); critical ${c.failed}${c.failed ? ` (${listReasons(c.reasons)})` : ""}`,
  );
  console.log(`bare loop: connects ${b.ops} (${rate(b)}/s); CPU ${b.cpu.toFixed(0)} ms over ${(b.wall / 1000).toFixed(1)} s (${core(b)}% of one core); failed ${b.failed}${b.failed ? ` (${listReasons(b.reasons)})` : ""}`);
  const perC = c.cpu / Math.max(1, c.ops);
  const perB = b.cpu / Math.max(1, b.ops);
  console.log(`CPU ratio checker/bare: ${(c.cpu / b.cpu).toFixed(2)}x total, ${(perC / perB).toFixed(2)}x per connect (${(perC * 1000).toFixed(1)} vs ${(perB * 1000).toFixed(1)} us)`);
  const load = await Bun.file("/proc/loadavg").text().catch(() => "n/a");
  console.log(`machine load average at the end: ${load.split(" ").slice(0, 3).join(" ")}`);
} finally {
  server.stdin.end();
  server.kill();
  await server.exited;
}
