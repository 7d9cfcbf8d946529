// Restart latency: kill -9 of a supervised replica → its replacement answering HTTP (a pid other than the killed one),
// next to the bare spawn → listening time of the same tiny Bun HTTP server, and to a bare respawn (kill -9 of a bare
// child, await its exit, spawn again: the kernel's part of any restart), and to that bare respawn made with the
// agent's own spawn call (its own session, output to files), which leaves the manager's own work as the difference.
// 20 runs each, bounded.
//
// --cgroup runs the whole bench (and so every child) inside one new CPU cgroup, as a service manager places a
// service: the kernel's autogroup scheduling (one scheduling group per session, `kernel.sched_autogroup_enabled`)
// applies only to tasks in the root CPU cgroup, so there a replica's own session costs nothing (needs root).
//
// Variants of the supervised case, each on a fresh manager so every kill is a replica's first crash:
// - "agent default": the agent's default policy (restart.immediate_first: the first crash restarts at once);
// - "backoff on first crash": immediate_first off, so the first delay is drawn from [100, 300) ms;
// - "no backoff": initial delay 0, which isolates what the manager itself adds.
// PM2 (npm `pm2`, installed into a temp dir on first use) runs the same server in fork mode with its default
// immediate restart; its replica is killed the same way, interleaved with the others in one run.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { detectCgroups } from "../../src/procs/cgroups/detect.ts";
import { outputPaths } from "../../src/procs/output-tail.ts";
import { ProcessManager } from "../../src/procs/process-manager.ts";
import { spawnDetached } from "../../src/procs/spawn.ts";
import type { AppSpec, ProcsEvent } from "../../src/procs/types.ts";

const RUNS = Number(process.env.RUNS ?? 20);
const DEADLINE = performance.now() + 120_000;
const SERVER = join(import.meta.dir, "restart-server-fixture.ts");
/** --cgroup: a CPU cgroup for this process (v1 `cpu` mount or v2 with the cpu controller), removed at the end. */
function enterCpuCgroup(): () => void {
  const support = detectCgroups();
  const base = support.bases.cpu;
  if (!base) throw new Error(`--cgroup: no writable CPU cgroup here (${support.gaps.join("; ") || support.mode})`);
  const dir = join(base, `polis-bench-restart-${process.pid}`);
  mkdirSync(dir);
  const home = readFileSync("/proc/self/cgroup", "utf8");
  writeFileSync(join(dir, "cgroup.procs"), String(process.pid));
  console.log(`in CPU cgroup ${dir} (was: ${home.split("\n").find((l) => /(^|:|,)cpu(,|:)/.test(l) || l.startsWith("0::")) ?? "?"})`);
  return () => {
    // Back to the parent group, then the empty group can go.
    try {
      writeFileSync(join(base, "cgroup.procs"), String(process.pid));
      rmdirSync(dir);
    } catch (e) {
      console.log(`could not remove ${dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}
const leaveCgroup = process.argv.includes("--cgroup") ? enterCpuCgroup() : undefined;
console.log(`load average before ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);

const LOG_DIR = mkdtempSync(join(tmpdir(), "polis-bench-restart-"));
const BASE_PORT = 24_000 + Math.floor(Math.random() * 400) * 10;

async function until<T>(cond: () => Promise<T | boolean | undefined> | T | boolean | undefined, limitMs = 10_000): Promise<T> {
  const end = Math.min(DEADLINE, performance.now() + limitMs);
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v as T;
    if (performance.now() > end) throw new Error("bench step timed out");
    await Bun.sleep(1);
  }
}

/** The pid of whatever answers HTTP on the port, or 0. */
async function servingPid(port: number): Promise<number> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(200), keepalive: false });
    return Number(await r.text());
  } catch {
    return 0;
  }
}

/** A process other than `old` serving the port (the killed one may still accept for an instant). */
const replacementServing = async (port: number, old: number) => {
  const pid = await servingPid(port);
  return pid > 0 && pid !== old;
};

/**
 * `detached`: in its own session, as replicas are spawned (so a signal to the group reaches grandchildren). With the
 * kernel's autogroup scheduling on, a new session is a new scheduling group, which a busy machine serves later.
 */
async function bareSpawn(port: number, detached = false): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn([process.execPath, SERVER], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "ignore", "ignore"], detached });
  (detached ? spawnCallDetached : spawnCall).push(performance.now() - t0);
  try {
    await until(() => replacementServing(port, 0));
    return performance.now() - t0;
  } finally {
    p.kill("SIGKILL");
    await p.exited;
  }
}

/** How long the `Bun.spawn` call itself blocks (until the child has exec'd), plain and in a new session. */
const spawnCall: number[] = [];
const spawnCallDetached: number[] = [];

/**
 * The floor under any supervisor: kill -9 of a bare child, `await exited`, `Bun.spawn` again, until it answers. It
 * adds to the bare spawn only what the kernel takes to tear the killed process down and report its exit.
 */
async function bareRespawn(port: number): Promise<number> {
  const spawn = () => Bun.spawn([process.execPath, SERVER], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "ignore", "ignore"] });
  const first = spawn();
  let next: ReturnType<typeof spawn> | undefined;
  try {
    await until(() => replacementServing(port, 0));
    const t0 = performance.now();
    first.kill("SIGKILL");
    await first.exited;
    next = spawn();
    await until(() => replacementServing(port, first.pid));
    return performance.now() - t0;
  } finally {
    first.kill("SIGKILL");
    next?.kill("SIGKILL");
    await Promise.all([first.exited, next?.exited]);
  }
}

/**
 * The bare respawn with the agent's own spawn call (`spawnDetached`: its own session, stdout and stderr appended to
 * files, the fds closed after): what is left between it and the supervised restart is the manager's own work.
 */
async function bareRespawnAsAgent(port: number): Promise<number> {
  const spawn = () =>
    spawnDetached({ command: process.execPath, args: [SERVER], env: { ...process.env, PORT: String(port) }, dir: LOG_DIR, paths: outputPaths(LOG_DIR, "bare", port) }).proc;
  const first = spawn();
  let next: ReturnType<typeof spawn> | undefined;
  try {
    await until(() => replacementServing(port, 0));
    const t0 = performance.now();
    first.kill("SIGKILL");
    await first.exited;
    next = spawn();
    await until(() => replacementServing(port, first.pid));
    return performance.now() - t0;
  } finally {
    first.kill("SIGKILL");
    next?.kill("SIGKILL");
    await Promise.all([first.exited, next?.exited]);
  }
}

/** Per supervised restart (agent default): ms from the kill to each manager event and to the replacement answering. */
interface Stages { exited: number; starting: number; spawned: number; answering: number }
const stages: Stages[] = [];

async function supervisedRestart(port: number, initialMs: number): Promise<number> {
  const events: { e: ProcsEvent; t: number }[] = [];
  const pm = new ProcessManager({ onEvent: (e) => events.push({ e, t: performance.now() }) });
  const spec: AppSpec = {
    name: "bench",
    command: process.execPath,
    args: [SERVER],
    replicas: 1,
    port: { kind: "range", from: port, to: port },
    readiness: { kind: "port", timeoutMs: 5_000 },
    restart: { backoff: initialMs === 0 ? { initialMs: 0 } : initialMs < 0 ? { immediateFirst: true } : {} },
  };
  try {
    await pm.apply([spec]);
    await until(() => events.some(({ e }) => e.type === "ready"));
    const pid = pm.snapshot()[0]!.replicas[0]!.pid!;
    const t0 = performance.now();
    process.kill(pid, "SIGKILL");
    await until(() => replacementServing(port, pid));
    const dt = performance.now() - t0;
    if (initialMs < 0) {
      const at = (type: ProcsEvent["type"]) => (events.findLast(({ e }) => e.type === type)?.t ?? NaN) - t0;
      stages.push({ exited: at("exited"), starting: at("starting"), spawned: at("spawned"), answering: dt });
    }
    return dt;
  } finally {
    await pm.stopAll();
  }
}

/** PM2 under its own PM2_HOME so the bench never touches a user's PM2 daemon. */
function setUpPm2(port: number) {
  const prefix = process.env.PM2_PREFIX ?? join(tmpdir(), "polis-bench-pm2");
  const bin = join(prefix, "node_modules/.bin/pm2");
  if (!existsSync(bin)) {
    mkdirSync(prefix, { recursive: true });
    console.log(`installing pm2 into ${prefix} ...`);
    const r = Bun.spawnSync(["npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", "pm2"], { stdout: "inherit", stderr: "inherit", timeout: 180_000 });
    if (r.exitCode !== 0 || !existsSync(bin)) throw new Error("npm install pm2 failed");
  }
  const home = join(tmpdir(), `polis-bench-pm2-home-${process.pid}`);
  mkdirSync(home, { recursive: true });
  const env = { ...process.env, PM2_HOME: home };
  const pm2 = (...args: string[]) => {
    const r = Bun.spawnSync([bin, ...args], { env, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    if (r.exitCode !== 0) throw new Error(`pm2 ${args.join(" ")}: ${r.stderr.toString()}${r.stdout.toString()}`);
    return r.stdout.toString();
  };
  const eco = join(home, "bench.config.cjs");
  const app = { name: "bench", script: SERVER, interpreter: process.execPath, exec_mode: "fork", autorestart: true, max_restarts: 10_000, min_uptime: 100, env: { PORT: String(port) } };
  writeFileSync(eco, `module.exports = ${JSON.stringify({ apps: [app] })};\n`);
  const version = pm2("--version").trim().split("\n").at(-1)!.trim();
  try {
    pm2("start", eco);
  } catch (e) {
    Bun.spawnSync([bin, "kill"], { env, timeout: 30_000 });
    rmSync(home, { recursive: true, force: true });
    throw e;
  }
  let killed = 0;
  return {
    version,
    async restart(): Promise<number> {
      const old = await until(async () => {
        const p = await servingPid(port);
        return p > 0 && p !== killed ? p : undefined;
      });
      killed = old;
      const t0 = performance.now();
      process.kill(old, "SIGKILL");
      await until(() => replacementServing(port, old));
      return performance.now() - t0;
    },
    stop() {
      try {
        pm2("kill");
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1);
  return `median ${q(0.5)} ms  p10 ${q(0.1)}  p90 ${q(0.9)}  (n=${s.length})`;
}

const bare: number[] = [];
const respawn: number[] = [];
const respawnAsAgent: number[] = [];
const bareDetached: number[] = [];
const noBackoff: number[] = [];
const withDefault: number[] = [];
const agentDefault: number[] = [];
const pm2Runs: number[] = [];
const pm2 = process.env.NO_PM2 ? undefined : setUpPm2(BASE_PORT + 10);
try {
  for (let i = 0; i < RUNS && performance.now() < DEADLINE; i++) {
    // Interleaved so machine noise hits every variant alike; a new port each run avoids TIME_WAIT effects.
    bare.push(await bareSpawn(BASE_PORT + (i % 10)));
    respawn.push(await bareRespawn(BASE_PORT + ((i + 1) % 10)));
    bareDetached.push(await bareSpawn(BASE_PORT + ((i + 2) % 10), true));
    respawnAsAgent.push(await bareRespawnAsAgent(BASE_PORT + ((i + 4) % 10)));
    noBackoff.push(await supervisedRestart(BASE_PORT + ((i + 3) % 10), 0));
    withDefault.push(await supervisedRestart(BASE_PORT + ((i + 6) % 10), 100));
    agentDefault.push(await supervisedRestart(BASE_PORT + ((i + 8) % 10), -1));
    if (pm2) pm2Runs.push(await pm2.restart());
  }
} finally {
  pm2?.stop();
  rmSync(LOG_DIR, { recursive: true, force: true });
}
console.log(`load average after ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
const b = median(bare);
const ratio = (xs: number[]) => `${(median(xs) / b).toFixed(2)}× bare`;
console.log(`spawn → listening (bare Bun.spawn)                  ${summary(bare)}`);
console.log(`spawn → listening, detached (own session)          ${summary(bareDetached)}  ${ratio(bareDetached)}`);
console.log(`  the Bun.spawn call alone: ${median(spawnCall).toFixed(2)} ms, detached ${median(spawnCallDetached).toFixed(2)} ms`);
console.log(`kill -9 → bare respawn answering (no supervisor)      ${summary(respawn)}  ${ratio(respawn)}`);
console.log(`kill -9 → bare respawn, spawned as the agent spawns  ${summary(respawnAsAgent)}  ${ratio(respawnAsAgent)}`);
console.log(`polis agent default / bare respawn: ${(median(agentDefault) / median(respawn)).toFixed(2)}× (what the supervisor adds beyond the kernel's teardown of the killed process)`);
console.log(`polis agent default / bare respawn as the agent spawns: ${(median(agentDefault) / median(respawnAsAgent)).toFixed(2)}× (the manager's own work: exit handling, policy, port, env, events)`);
console.log(`kill -9 → replacement answering, polis no backoff     ${summary(noBackoff)}  ${ratio(noBackoff)}`);
console.log(`kill -9 → replacement answering, polis agent default  ${summary(agentDefault)}  ${ratio(agentDefault)}`);
console.log(`kill -9 → replacement answering, polis backoff on first ${summary(withDefault)}  ${ratio(withDefault)}`);
{
  const m = (k: keyof Stages) => median(stages.map((x) => x[k])).toFixed(2);
  const d = (a: keyof Stages, b: keyof Stages) => median(stages.map((x) => x[b] - x[a])).toFixed(2);
  console.log(`agent default, medians from the kill: exited event ${m("exited")} ms, starting ${m("starting")}, spawned ${m("spawned")}, answering ${m("answering")}`);
  console.log(`  stages: kill → exit seen ${m("exited")} ms (kernel teardown), exit → starting ${d("exited", "starting")} ms (manager: exit handling, policy), starting → spawned ${d("starting", "spawned")} ms (env, output files, Bun.spawn until the child execs), spawned → answering ${d("spawned", "answering")} ms (the replica's own start)`);
}
if (pm2) {
  console.log(`kill -9 → replacement answering, PM2 ${pm2.version} fork mode  ${summary(pm2Runs)}  ${ratio(pm2Runs)}`);
  console.log(`polis / PM2: agent default ${(median(agentDefault) / median(pm2Runs)).toFixed(2)}×, no backoff ${(median(noBackoff) / median(pm2Runs)).toFixed(2)}×, backoff on first crash ${(median(withDefault) / median(pm2Runs)).toFixed(2)}× (below 1 = faster than PM2)`);
}
console.log(JSON.stringify({ runs: bare.length, stages, bare, bareDetached, respawn, respawnAsAgent, agentDefault, noBackoff, withDefault, pm2: pm2Runs }));
leaveCgroup?.();
