// `bun scripts/chaos/wrk-takeover.ts [SECONDS]`: wrk (-c50 -t2, keep-alive) through the agent's balancer, once with no
// fault and once with two takeovers during the run (`polis agent --takeover`, then `polis upgrade` of a copy of the
// binary); prints requests, errors and throughput of both, and the ratio, for docs/benchmarks.md.
import { chmodSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { ensureWrk, startWrk, type WrkResult } from "../bench/_wrk.ts";
import { BINARY } from "../../test/support/agent.ts";
import { allPassing, allReady, chaosAgent, killMarked, type RunningAgent, startAgent, waitFor } from "./_harness.ts";

const seconds = Number(process.argv[2] ?? 12);
await ensureWrk();
const { agent, port, marker } = await chaosAgent({ apps: 2 });
const agents: RunningAgent[] = [agent];
const pids: number[] = [];
const row = (name: string, r: WrkResult) => `| ${name} | ${r.requests} | ${r.non2xx} | ${r.socketErrors} | ${Math.round(r.rps)} |`;
try {
  await allReady(agent, "demo", 2, 60_000);
  await allPassing(agent, 2);
  const url = `http://127.0.0.1:${port}/`;
  const plain = await startWrk(url, seconds);
  const during = startWrk(url, seconds);
  await Bun.sleep((seconds * 1000) / 4);
  const next = await startAgent({ sameDirAs: agent, args: ["--takeover"], readyTimeoutMs: 60_000 });
  agents.push(next);
  await agent.proc.exited;
  await Bun.sleep((seconds * 1000) / 4);
  const copy = join(agent.dir, "polis-next");
  copyFileSync(BINARY, copy);
  chmodSync(copy, 0o755);
  const up = Bun.spawnSync([BINARY, "upgrade", copy, "--config", join(agent.dir, "agent.yaml")], { cwd: agent.dir });
  const pid = Number(/pid (\d+) serves/.exec(up.stdout.toString())?.[1] ?? 0);
  if (pid) pids.push(pid);
  await waitFor(() => next.proc.exitCode !== null, { timeoutMs: 30_000, what: "the first successor gone" });
  const r = await during;
  console.log(`wrk -c50 -t2 -d${seconds}s through one balancer worker, 2 demo-app replicas (${new Date().toISOString()})`);
  console.log("| run | requests | non-2xx | socket errors | req/s |");
  console.log("|---|---|---|---|---|");
  console.log(row("no takeover", plain));
  console.log(row(`--takeover, then polis upgrade (${up.exitCode === 0 ? "done" : `exit ${up.exitCode}`})`, r));
  console.log(`throughput ratio (with / without takeovers): ${(r.rps / plain.rps).toFixed(2)}`);
} finally {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
      await waitFor(() => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }, { timeoutMs: 20_000, what: `pid ${pid} gone` });
    } catch {
      // Gone already.
    }
  }
  for (const a of agents.reverse()) await a.stop();
  await agent[Symbol.asyncDispose]();
  killMarked(marker);
}
