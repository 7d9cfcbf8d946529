// Kernel-enforced limits on the compiled binary: a memory hog is OOM-killed at its limit and restarted with
// oom-killed reported; a fork bomb stops at its pids limit while the host (the agent, a sibling app) carries on;
// a CPU spinner is throttled to its quota, measured by the kernel's own counters. Skipped, with the reason,
// where the host has no writable cgroup controller for the case.
import { describe, expect, test } from "bun:test";
import { type CgroupSupport, detectCgroups } from "../../src/procs/cgroups/detect.ts";
import { events, replicas } from "../fixtures/it-apps-fixture.ts";
import { startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";

const support: CgroupSupport = detectCgroups();
const skipUnless = (c: "memory" | "pids" | "cpu") => (support.bases[c] ? test : test.skip);
if (!support.bases.memory || !support.bases.pids || !support.bases.cpu) {
  console.warn(`drivers-limits: some cases skip: this host lacks cgroup controllers (${support.gaps.join("; ")})`);
}

interface Usage { memoryBytes: number; cpuUsageMs: number | null; throttledMs: number; throttledPeriods: number; periods: number; pids: number; pidsLimitHits: number; oomKills: number }
type Replica = Awaited<ReturnType<typeof replicas>>[number] & { usage?: Usage | null; lastExit: { reason: string } | null };

const fast = { initial_delay: "50ms", max_delay: "200ms", crash_loop: { max_restarts: 50, window: "60s", cooldown: "10m" } };
const bun = process.execPath;
const BOMB = `const { spawn } = require("node:child_process"); setInterval(() => { try { spawn("sleep", ["300"], { stdio: "ignore" }).on("error", () => {}); } catch {} }, 2);`;

describe("resource limits (exec driver)", () => {
  skipUnless("memory")("a replica over its memory limit is OOM-killed by the kernel, reported as oom-killed, and restarted", async () => {
    await using agent = await startAgent({
      config: {
        apps: [{ name: "hog", command: bun, args: ["-e", "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));"], resources: { memory: "64MiB", memory_swap: 0 }, restart: fast }],
      },
    });
    const exits = await waitFor(
      async () => {
        const evs = (await events(agent)).filter((e) => e.type === "proc.exited");
        return evs.length >= 2 ? evs : undefined;
      },
      { timeoutMs: 30_000, what: "two exits of the hog" },
    );
    expect(exits.slice(0, 2).map((e) => [e.data?.reason, e.data?.signal])).toEqual([
      ["oom-killed", "SIGKILL"],
      ["oom-killed", "SIGKILL"],
    ]);
    const restarts = (await events(agent)).filter((e) => e.type === "proc.restarting").map((e) => e.data?.reason);
    expect(restarts[0]).toBe("oom-killed");
    const r = (await replicas(agent, "hog"))[0] as Replica;
    expect(r.restarts).toBeGreaterThanOrEqual(1);
    expect(r.lastExit?.reason).toBe("oom-killed");
    // Counted apart from other exits in the metrics.
    await waitFor(async () => /polis_events_total\{[^}]*type="proc\.oom-killed"[^}]*\} [1-9]/.test(await (await fetch(`${agent.url}/metrics`)).text()), {
      timeoutMs: 15_000,
      what: "the oom-killed counter in /metrics",
    });
    // The status says what enforced it.
    const view = (await (await agent.api("/v1/agent")).json()) as { drivers: { limits: { cgroup: string; enforced: string[] } } };
    expect(view.drivers.limits.cgroup).toBe(support.mode);
    expect(view.drivers.limits.enforced).toContain("memory");
  }, 60_000);

  test("contrast: the same allocation loop under a limit it never reaches is not killed", async () => {
    await using agent = await startAgent({
      config: { apps: [{ name: "small", command: bun, args: ["-e", "const a = []; for (let i = 0; i < 16; i++) a.push(Buffer.alloc(1 << 20, 1)); console.log('ALLOCATED'); setInterval(() => {}, 1000);"], resources: { memory: "256MiB" }, readiness: { kind: "stdout", pattern: "^ALLOCATED" } }] },
    });
    await waitFor(async () => ((await replicas(agent, "small"))[0]?.state === "ready" ? true : undefined), { timeoutMs: 20_000, what: "small ready" });
    expect((await events(agent)).filter((e) => e.type === "proc.exited")).toEqual([]);
  }, 40_000);

  skipUnless("pids")("a fork bomb stops at its pids limit; the agent and a sibling app carry on, and stop leaves nothing behind", async () => {
    const LIMIT = 64;
    await using agent = await startAgent({
      config: {
        apps: [
          // Spawns sleepers for ever; each spawn past the limit fails (EAGAIN) and the loop keeps trying (a shell
          // would exit at its first failed fork).
          { name: "bomb", command: bun, args: ["-e", BOMB], resources: { pids: LIMIT }, stop: { timeout: "1s" } },
          { name: "sibling", command: "/bin/sh", args: ["-c", "echo UP; exec sleep 300"], readiness: { kind: "stdout", pattern: "^UP" } },
        ],
      },
    });
    const usage = await waitFor(
      async () => {
        const u = ((await replicas(agent, "bomb"))[0] as Replica | undefined)?.usage;
        return u && u.pidsLimitHits > 0 ? u : undefined;
      },
      { timeoutMs: 20_000, what: "the bomb hitting its pids limit" },
    );
    expect(usage.pids).toBeLessThanOrEqual(LIMIT);
    // The host is unaffected: the agent answers and starts a replica of another app while the bomb runs.
    await waitFor(async () => ((await replicas(agent, "sibling"))[0]?.state === "ready" ? true : undefined), { timeoutMs: 20_000, what: "sibling ready" });
    const restart = await agent.api("/v1/apps/sibling/replicas/0/restart", { method: "POST" });
    expect(restart.status).toBeLessThan(300);
    await waitFor(async () => ((await replicas(agent, "sibling"))[0]?.state === "ready" ? true : undefined), { timeoutMs: 20_000, what: "sibling ready again" });
    const pid = (await replicas(agent, "bomb"))[0]!.pid!;
    const members = Bun.spawnSync(["sh", "-c", `cat ${support.bases.pids}/polis-*/bomb-0/cgroup.procs`]).stdout.toString().trim().split("\n").filter(Boolean).map(Number);
    expect(members.length).toBeGreaterThan(1);
    await agent.stop();
    // Every sleeper was in the cgroup, so the stop reached them all, even those the shell had detached from.
    for (const m of [pid, ...members]) expect(isAlive(m)).toBe(false);
  }, 60_000);

  skipUnless("cpu")("a CPU spinner is throttled to its quota: its CPU time stays within quota × periods", async () => {
    const CPU = 0.2;
    await using agent = await startAgent({ config: { apps: [{ name: "spin", command: "/bin/sh", args: ["-c", "while :; do :; done"], resources: { cpu: CPU } }] } });
    const u = await waitFor(
      async () => {
        const x = ((await replicas(agent, "spin"))[0] as Replica | undefined)?.usage;
        return x && x.periods >= 20 ? x : undefined;
      },
      { timeoutMs: 30_000, what: "20 CFS periods of the spinner" },
    );
    // The kernel's counters, not the wall clock: in `periods` periods of 100 ms the group may use CPU × 100 ms each.
    const allowedMs = u.periods * CPU * 100;
    if (u.cpuUsageMs !== null) expect(u.cpuUsageMs).toBeLessThanOrEqual(allowedMs * 1.1 + 20);
    // A spinner wants a whole core, so it hits its quota (how often depends on what else the host runs).
    expect(u.throttledPeriods).toBeGreaterThan(0);
    expect(u.throttledMs).toBeGreaterThan(0);
    console.log(`cpu ${CPU}: ${u.cpuUsageMs} ms used in ${u.periods} periods (allowed ${allowedMs} ms), throttled ${u.throttledPeriods} periods / ${u.throttledMs} ms`);
  }, 60_000);
});

function isAlive(pid: number): boolean {
  try {
    const st = require("node:fs").readFileSync(`/proc/${pid}/stat`, "utf8") as string;
    return !st.slice(st.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}
