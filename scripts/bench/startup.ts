// Start-up time of the compiled binary to /readyz = 200 (median of N) and idle RSS with every worker up.
// Usage: bun scripts/bench/startup.ts [--runs 10]   (needs dist/polis: npm run build)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 10;
const binary = join(import.meta.dir, "../../dist/polis");
const dir = mkdtempSync(join(tmpdir(), "polis-bench-start-"));
const port = 19_000 + Math.floor(Math.random() * 1000);
const config = join(dir, "agent.yaml");
writeFileSync(config, `agent: {data_dir: ${join(dir, "data")}}\napi: {listen: "127.0.0.1:${port}"}\ndns: {listen: "127.0.0.1:${port + 1}"}\n`);

const times: number[] = [];
let rssKb = 0;
let threads = 0;
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  const proc = Bun.spawn([binary, "agent", "--config", config], { cwd: dir, stdout: "ignore", stderr: "ignore" });
  const deadline = t0 + 15_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((x) => x.status === 200, () => false);
    if (ok) break;
    if (performance.now() > deadline) throw new Error("agent did not become ready in 15 s");
    await Bun.sleep(2);
  }
  times.push(performance.now() - t0);
  if (r === RUNS - 1) {
    await Bun.sleep(2000); // let start-up garbage settle before reading idle RSS
    const status = readFileSync(`/proc/${proc.pid}/status`, "utf8");
    rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    threads = Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  proc.kill("SIGTERM");
  await proc.exited;
}
// Baseline in the same run: the same runtime serving one HTTP port and nothing else (`polis demo-app`).
const bare: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  const proc = Bun.spawn([binary, "demo-app", "--port", String(port + 2)], { cwd: dir, stdout: "ignore", stderr: "ignore" });
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port + 2}/healthz`).then((x) => x.status === 200, () => false);
    if (ok) break;
    if (performance.now() - t0 > 15_000) throw new Error("demo-app did not listen in 15 s");
    await Bun.sleep(2);
  }
  bare.push(performance.now() - t0);
  proc.kill("SIGTERM");
  await proc.exited;
}
const bareMedian = [...bare].sort((a, b) => a - b)[Math.floor(bare.length / 2)]!;
rmSync(dir, { recursive: true, force: true });
const sorted = [...times].sort((a, b) => a - b);
console.log(JSON.stringify({
  runs: RUNS,
  startup_to_ready_ms_median: +sorted[Math.floor(sorted.length / 2)]!.toFixed(1),
  startup_to_ready_ms_min: +sorted[0]!.toFixed(1),
  startup_to_ready_ms_max: +sorted[sorted.length - 1]!.toFixed(1),
  bare_runtime_to_listening_ms_median: +bareMedian.toFixed(1),
  ratio_vs_bare_runtime: +(sorted[Math.floor(sorted.length / 2)]! / bareMedian).toFixed(2),
  idle_rss_mib: +(rssKb / 1024).toFixed(1),
  os_threads: threads,
}, null, 2));
