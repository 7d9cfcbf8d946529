// Restart latency: kill -9 of a supervised replica → its replacement accepting TCP connections,
// next to the bare spawn → listening time of the same tiny Bun HTTP server. 20 runs each, bounded.
//
// Variants of the supervised case, each on a fresh manager so every kill is a replica's first crash:
// - "default policy": the first backoff delay is drawn from [100, 300) ms (decorrelated jitter);
// - "no backoff": initial delay 0, which isolates what the manager itself adds.
import { join } from "node:path";
import { ProcessManager } from "../../src/procs/process-manager.ts";
import { canConnect } from "../../src/procs/readiness.ts";
import type { AppSpec, ProcsEvent } from "../../src/procs/types.ts";

const RUNS = Number(process.env.RUNS ?? 20);
const DEADLINE = performance.now() + 120_000;
const SERVER = join(import.meta.dir, "../../test/fixtures/procs-server-fixture.ts");
const BASE_PORT = 24_000 + Math.floor(Math.random() * 400) * 10;

async function until(cond: () => Promise<boolean> | boolean, limitMs = 10_000): Promise<void> {
  const end = Math.min(DEADLINE, performance.now() + limitMs);
  while (!(await cond())) {
    if (performance.now() > end) throw new Error("bench step timed out");
    await Bun.sleep(1);
  }
}

async function bareSpawn(port: number): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn([process.execPath, SERVER], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "ignore", "ignore"] });
  try {
    await until(() => canConnect(port, 200));
    return performance.now() - t0;
  } finally {
    p.kill("SIGKILL");
    await p.exited;
  }
}

async function supervisedRestart(port: number, initialMs: number): Promise<number> {
  const events: ProcsEvent[] = [];
  const pm = new ProcessManager({ onEvent: (e) => events.push(e) });
  const spec: AppSpec = {
    name: "bench",
    command: process.execPath,
    args: [SERVER],
    replicas: 1,
    port: { kind: "range", from: port, to: port },
    readiness: { kind: "port", timeoutMs: 5_000 },
    restart: { backoff: initialMs === 0 ? { initialMs: 0 } : {} },
  };
  try {
    await pm.apply([spec]);
    await until(() => events.some((e) => e.type === "ready"));
    const pid = pm.snapshot()[0]!.replicas[0]!.pid!;
    const t0 = performance.now();
    process.kill(pid, "SIGKILL");
    // The dying process may still accept for a moment: count from the kill, wait for its exit first.
    await until(() => events.some((e) => e.type === "exited"));
    await until(() => canConnect(port, 200));
    return performance.now() - t0;
  } finally {
    await pm.stopAll();
  }
}

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1);
  return `median ${q(0.5)} ms  p10 ${q(0.1)}  p90 ${q(0.9)}  (n=${s.length})`;
}

const bare: number[] = [];
const noBackoff: number[] = [];
const withDefault: number[] = [];
for (let i = 0; i < RUNS && performance.now() < DEADLINE; i++) {
  // Interleaved so machine noise hits every variant alike; a new port each run avoids TIME_WAIT effects.
  bare.push(await bareSpawn(BASE_PORT + (i % 10)));
  noBackoff.push(await supervisedRestart(BASE_PORT + ((i + 3) % 10), 0));
  withDefault.push(await supervisedRestart(BASE_PORT + ((i + 6) % 10), 100));
}
console.log(`spawn → listening (bare Bun.spawn)            ${summary(bare)}`);
console.log(`kill -9 → replacement accepting, no backoff     ${summary(noBackoff)}`);
console.log(`kill -9 → replacement accepting, default policy ${summary(withDefault)}`);
console.log(JSON.stringify({ runs: bare.length, bare, noBackoff, withDefault }));
