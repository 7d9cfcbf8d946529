// Benchmark of the task queue: (1) enqueue -> start decision latency with 10,000 tasks queued (goal p99 < 20 ms),
// through the queue and the sqlite store the agent uses; (2) throughput of `true` tasks against a bare loop of the
// same spawn function at the same concurrency, alternated round by round in one run (goal >= 0.9x), two ways:
// the queue and the procs worker's task runner in this one thread (every cost on one thread, no thread hop), and
// the compiled agent itself (dist/polis: each task POSTed to its API, the queue and sqlite on the supervisor thread,
// spawns in the procs worker thread, completion counted by polling the API every 50 ms).
// Usage: bun scripts/bench/tasks.ts [--tasks N] [--rounds N] [--no-agent]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { createTaskRunner } from "../../src/procs/task-runner.ts";
import { loadAverage, type RunningAgent, startAgent } from "./_agent.ts";
import { spawnDetached } from "../../src/procs/spawn.ts";
import { openStore } from "../../src/state/store.ts";
import { createTaskService } from "../../src/tasks/service.ts";
import type { TaskSpec } from "../../src/core/tasks/types.ts";
import type { FromProcsTasks } from "../../src/protocol/tasks.ts";

const args = process.argv.slice(2);
const RUNS = args.includes("--tasks") ? Number(args[args.indexOf("--tasks") + 1]) : 300;
const CONCURRENCY = 2;
const ROUNDS = args.includes("--rounds") ? Number(args[args.indexOf("--rounds") + 1]) : 5;
const dir = mkdtempSync(join(tmpdir(), "polis-bench-tasks-"));
const log = { debug() {}, info() {}, warn() {}, error() {}, log() {}, setLevel() {}, tail: () => [] } as never;
const spec = (name: string): TaskSpec => ({ name, command: "/bin/true", args: [], env: {}, priority: "medium", timeoutMs: 0, retries: { max: 0, backoffMs: 0, maxBackoffMs: 0 }, concurrencyLimit: 1, killTimeoutMs: 1000, outputLimit: 1024 });
const queueCfg = (max: number) => ({ max_concurrent: max, aging: 300_000, keep_finished: 100_000, output_limit: 1024, max_queued: 1_000_000 });

async function latency() {
  const store = openStore(join(dir, "lat"));
  const starts: Array<{ id: string; at: number }> = [];
  let service: ReturnType<typeof createTaskService>;
  service = createTaskService({
    queue: () => queueCfg(2),
    definitions: () => [],
    dataDir: () => join(dir, "lat"),
    cores: 2,
    store,
    publish: () => {},
    log,
    procs: {
      start: async (t) => {
        starts.push({ id: t.id, at: performance.now() });
        return { ok: true, pid: 1, startTime: 1 };
      },
      adopt: async () => ({ adopted: [], gone: [] }),
      stop: () => {},
    },
  });
  await service.start();
  for (let i = 0; i < 10_000; i++) service.enqueue(spec(`q${i}`));
  await Bun.sleep(50);
  const samples: number[] = [];
  for (let i = 0; i < 300; i++) {
    const running = [...service.state.tasks.values()].find((t) => t.state === "running")!;
    const before = starts.length;
    const t0 = performance.now();
    // A slot frees (the procs worker reports an exit): the next task's start goes out in the same turn.
    service.handle({ t: "procs.task-exit", id: running.id, attempt: 1, code: 0, signal: null, adopted: false, output: { stdoutBytes: 0, stderrBytes: 0, stdoutCaptured: 0, stderrCaptured: 0 } } as FromProcsTasks);
    if (starts.length === before) throw new Error("no start after a slot freed");
    samples.push(starts[starts.length - 1]!.at - t0);
    await Promise.resolve();
  }
  service.stop();
  store.close();
  samples.sort((a, b) => a - b);
  const queued = service.state.queues.medium.length;
  console.log(`slot freed -> next start with ${queued} queued (persisted in sqlite): median ${samples[150]!.toFixed(3)} ms, p99 ${samples[297]!.toFixed(3)} ms (goal p99 < 20 ms)`);
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** This process's CPU time per task of the last throughput run (children's time not included). */
let lastCpuPerTask = 0;

async function throughputQueue(): Promise<number> {
  const sub = join(dir, `q${Math.random()}`);
  const store = openStore(sub);
  let service: ReturnType<typeof createTaskService>;
  // Completion is counted from the service's events (no polling of the task list).
  let succeeded = 0;
  let allDone: () => void = () => {};
  const done = new Promise<void>((r) => (allDone = r));
  const runner = createTaskRunner((m) => service.handle(m));
  service = createTaskService({
    queue: () => queueCfg(CONCURRENCY),
    definitions: () => [],
    dataDir: () => sub,
    cores: 2,
    store,
    publish: (e) => {
      if (e.type === "task.succeeded" && ++succeeded === RUNS) allDone();
    },
    log,
    procs: { start: async (t) => runner.start(t), adopt: async (t) => runner.adopt(t), stop: (id, s, g) => runner.stop(id, s, g) },
  });
  await service.start();
  const c0 = cpuMs();
  const t0 = performance.now();
  for (let i = 0; i < RUNS; i++) service.enqueue(spec(`t${i}`));
  const timeout = setTimeout(allDone, 120_000);
  await done;
  clearTimeout(timeout);
  if (succeeded < RUNS) throw new Error(`only ${succeeded} of ${RUNS} tasks succeeded within 120 s`);
  const secs = (performance.now() - t0) / 1000;
  lastCpuPerTask = (cpuMs() - c0) / RUNS;
  service.stop();
  runner.close();
  store.close();
  return RUNS / secs;
}

/** Tasks through the compiled agent's API: up to 8 POSTs in flight, then until the API counts them all succeeded. */
async function throughputAgent(agent: RunningAgent, round: number): Promise<number> {
  const name = `bench-r${round}`;
  const body = JSON.stringify({ name, command: "/bin/true" });
  let next = 0;
  const c0 = cpuOf(agent.proc.pid);
  const t0 = performance.now();
  const poster = async () => {
    while (next < RUNS) {
      next++;
      const r = await agent.api("/v1/tasks", { method: "POST", body });
      if (r.status !== 201) throw new Error(`POST /v1/tasks: ${r.status} ${await r.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, poster));
  const deadline = performance.now() + 120_000;
  for (;;) {
    const r = (await (await agent.api(`/v1/tasks?name=${name}&status=succeeded&limit=1`)).json()) as { total: number };
    if (r.total >= RUNS) break;
    if (performance.now() > deadline) throw new Error(`only ${r.total} of ${RUNS} agent tasks succeeded within 120 s`);
    await Bun.sleep(50);
  }
  const secs = (performance.now() - t0) / 1000;
  lastCpuPerTask = (cpuOf(agent.proc.pid) - c0) / RUNS;
  return RUNS / secs;
}

/** CPU ms of a process from /proc (utime + stime, 100 ticks a second). */
function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function throughputBare(): Promise<number> {
  const sub = join(dir, `b${Math.random()}`);
  let next = 0;
  const c0 = cpuMs();
  const t0 = performance.now();
  const lane = async () => {
    while (next < RUNS) {
      const i = next++;
      const s = spawnDetached({ command: "/bin/true", args: [], env: process.env, dir: sub, paths: { stdout: join(sub, `${i}.out`), stderr: join(sub, `${i}.err`) } });
      await s.proc.exited;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const secs = (performance.now() - t0) / 1000;
  lastCpuPerTask = (cpuMs() - c0) / RUNS;
  return RUNS / secs;
}

const WITH_AGENT = !args.includes("--no-agent") && existsSync(new URL("../../dist/polis", import.meta.url));
let agent: RunningAgent | undefined;
try {
  await latency();
  if (WITH_AGENT) agent = await startAgent({ config: { api: { allow_api_tasks: true }, task_queue: { max_concurrent: CONCURRENCY, keep_finished: 100_000 } } });
  else console.log("no dist/polis (npm run build) or --no-agent: the compiled agent is not measured");
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  const agentRatios: number[] = [];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`load average before: ${loadAverage()}`);
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await throughputBare();
    const bareCpu = lastCpuPerTask;
    const queue = await throughputQueue();
    const queueCpu = lastCpuPerTask;
    ratios.push(queue / bare);
    cpuRatios.push(bareCpu / queueCpu);
    let line = `round ${round + 1}: ${RUNS} x /bin/true at concurrency ${CONCURRENCY}: bare spawn loop ${bare.toFixed(0)}/s; in-process queue ${queue.toFixed(0)}/s, ratio ${(queue / bare).toFixed(2)}; CPU per task: bare ${(bareCpu * 1000).toFixed(0)} µs, in-process queue ${(queueCpu * 1000).toFixed(0)} µs`;
    if (agent) {
      const viaAgent = await throughputAgent(agent, round);
      agentRatios.push(viaAgent / bare);
      line += `; agent ${viaAgent.toFixed(0)}/s, ratio ${(viaAgent / bare).toFixed(2)}, agent CPU per task ${(lastCpuPerTask * 1000).toFixed(0)} µs (all its threads)`;
    }
    console.log(line);
  }
  console.log(`load average after: ${loadAverage()}`);
  console.log(`median ratios to the bare loop, wall time (goal >= 0.9): in-process queue ${median(ratios).toFixed(2)}${agent ? `, compiled agent ${median(agentRatios).toFixed(2)}` : ""}; bare CPU / in-process queue CPU per task: ${median(cpuRatios).toFixed(2)}`);
} finally {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
}
