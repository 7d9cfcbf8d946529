// The compiled agent supervising app replicas: crash and restart under load, rolling restart, scaling, bad apps,
// stubborn stops at shutdown, and adoption of running replicas after the agent itself was killed.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ReplicaInfo, alive, allReady, appInfo, demoApp, endpoints, events, freePort, load, replicas, startStack } from "../fixtures/it-apps-fixture.ts";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";

/** Pids of every live process in the process group led by `pgid`. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z" && Number(fields[2]) === pgid) out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

const killQuietly = (pid: number) => {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
};

/** An app with one replica that prints a numbered tick every 0.1 s, then counts it in `<root>/ticks`. */
function chattyApp(root: string) {
  const loop = `i=0; while :; do i=$((i+1)); echo "tick $i"; echo x >> ${join(root, "ticks")}; sleep 0.1; done`;
  return { name: "chatty", command: "sh", args: ["-c", loop] };
}

const ticks = (root: string) => (existsSync(join(root, "ticks")) ? readFileSync(join(root, "ticks"), "utf8").length / 2 : 0);

async function chattyRunning(agent: RunningAgent): Promise<ReplicaInfo> {
  return waitFor(
    async () => {
      const [r] = await replicas(agent, "chatty");
      return r?.state === "ready" && r.pid ? r : undefined;
    },
    { timeoutMs: 20_000, what: "chatty running" },
  );
}

/** Waits until the logs API shows a tick numbered above `n`: a line written (and tailed) after that count. */
async function newTickLogged(agent: RunningAgent, n: number): Promise<void> {
  let last = "";
  await waitFor(
    async () => {
      const { lines } = (await (await agent.api("/v1/apps/chatty/logs?tail=50")).json()) as { lines: Array<{ line: string }> };
      last = JSON.stringify(lines.slice(-3));
      return lines.some((l) => Number(/^tick (\d+)$/.exec(l.line)?.[1] ?? 0) > n) || undefined;
    },
    { timeoutMs: 10_000, what: `a tick above ${n} in the logs API` },
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last lines ${last}`);
  });
}

describe("app replicas under the agent", () => {
  test("a replica killed with SIGKILL under load is restarted with a new pid, leaves the pool while down, and no client request fails", async () => {
    const { agent, port } = await startStack([demoApp("demo", 3)]);
    await using _ = agent;
    const rs = await allReady(agent, "demo", 3);
    const victim = rs[1]!;
    const traffic = load(port);
    try {
      await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
      process.kill(victim.pid!, "SIGKILL");
      let seen: unknown;
      const back = await waitFor(
        async () => {
          const r = (await replicas(agent, "demo")).find((x) => x.id === victim.id);
          seen = r;
          return r && r.state === "ready" && r.restarts === 1 && r.pid !== victim.pid ? r : undefined;
        },
        { timeoutMs: 30_000, what: "the killed replica back, ready, with a new pid" },
      ).catch((e) => {
        throw new Error(`${(e as Error).message}; last seen ${JSON.stringify(seen)}`);
      });
      expect(alive(victim.pid!)).toBe(false);
      const seenAtRestart = traffic.ok;
      await waitFor(() => traffic.ok >= seenAtRestart + 100 && traffic.pids.has(back.pid!), { timeoutMs: 20_000, what: "traffic reaching the new process" });
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    const after = await replicas(agent, "demo");
    expect(after.filter((r) => r.id !== victim.id).every((r) => r.restarts === 0)).toBe(true);

    // While it was down its endpoint was out of the pool: removed after the exit, added back before it served again.
    const evs = await events(agent);
    const target = `default/demo/demo-${victim.id}`;
    const exited = evs.find((e) => e.type === "proc.exited" && e.target === `demo-${victim.id}`);
    expect(exited?.message).toContain("signal SIGKILL");
    const removed = evs.find((e) => e.type === "endpoint.removed" && e.target === target && e.seq > exited!.seq);
    const readyAgain = evs.find((e) => e.type === "proc.ready" && e.target === `demo-${victim.id}` && e.seq > exited!.seq);
    const added = evs.find((e) => e.type === "endpoint.added" && e.target === target && e.seq > exited!.seq);
    expect(removed).toBeDefined();
    expect(readyAgain).toBeDefined();
    expect(added).toBeDefined();
    expect(removed!.seq).toBeLessThan(added!.seq);
  }, 90_000);

  test("a rolling restart under load replaces every replica with a new process and no client request fails", async () => {
    const { agent, port } = await startStack([demoApp("demo", 3)]);
    await using _ = agent;
    const before = await allReady(agent, "demo", 3);
    const traffic = load(port);
    let body: { status: string; replaced: number };
    try {
      await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
      const res = await agent.api("/v1/apps/demo/restart", { method: "POST" });
      expect(res.status).toBe(200);
      body = (await res.json()) as typeof body;
      const done = traffic.ok;
      await waitFor(() => traffic.ok >= done + 50, { timeoutMs: 20_000, what: "load after the restart" });
    } finally {
      await traffic.stop();
    }
    expect(body).toMatchObject({ status: "done", replaced: 3 });
    expect(traffic.failures).toEqual([]);
    const after = await allReady(agent, "demo", 3);
    const oldPids = new Set(before.map((r) => r.pid));
    expect(after.every((r) => r.pid !== null && !oldPids.has(r.pid))).toBe(true);
    for (const r of before) expect(alive(r.pid!)).toBe(false);
  }, 90_000);

  test("scaling through the API adds endpoints within bounds, drains before scaling down, and refuses out-of-bounds counts and unknown apps", async () => {
    const { agent, port } = await startStack([demoApp("demo", { min: 1, max: 4 })]);
    await using _ = agent;
    await allReady(agent, "demo", 1);

    const up = await agent.api("/v1/apps/demo/scale", { method: "POST", body: JSON.stringify({ replicas: 3 }) });
    expect(up.status).toBe(202);
    const three = await allReady(agent, "demo", 3);
    const eps = await endpoints(agent);
    expect(eps.map((e) => e.port).sort()).toEqual(three.map((r) => r.port!).sort());

    const traffic = load(port);
    try {
      await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
      const down = await agent.api("/v1/apps/demo/scale", { method: "POST", body: JSON.stringify({ replicas: 1 }) });
      expect(down.status).toBe(202);
      await allReady(agent, "demo", 1);
      const done = traffic.ok;
      await waitFor(() => traffic.ok >= done + 50, { timeoutMs: 20_000, what: "load after scaling down" });
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    const [left] = await replicas(agent, "demo");
    const evs = await events(agent);
    for (const gone of three.filter((r) => r.id !== left!.id)) {
      const drained = evs.find((e) => e.type === "endpoint.updated" && e.target === `default/demo/demo-${gone.id}`);
      const stopping = evs.find((e) => e.type === "proc.stopping" && e.target === `demo-${gone.id}`);
      expect(drained).toBeDefined();
      expect(stopping).toBeDefined();
      expect(drained!.seq).toBeLessThan(stopping!.seq);
      expect(alive(gone.pid!)).toBe(false);
    }

    for (const n of [0, 5]) {
      const res = await agent.api("/v1/apps/demo/scale", { method: "POST", body: JSON.stringify({ replicas: n }) });
      expect(res.status).toBe(422);
      const err = (await res.json()) as { code: string; message: string; details: { min: number; max: number } };
      expect(err.message).toContain("1..4");
      expect(err.details).toMatchObject({ min: 1, max: 4 });
    }
    const unknown = await agent.api("/v1/apps/nope/scale", { method: "POST", body: JSON.stringify({ replicas: 1 }) });
    expect(unknown.status).toBe(404);
    expect((await appInfo(agent, "demo"))?.replicas.length).toBe(1);
  }, 90_000);

  test("a missing command and a command that exits at once end in a crash loop while the agent stays up and ready", async () => {
    const restart = { initial_delay: "10ms", max_delay: "50ms", crash_loop: { max_restarts: 3, window: "60s", cooldown: "5m" } };
    await using agent = await startAgent({
      config: {
        apps: [
          { name: "missing", command: "/nonexistent/polis-no-such-command", restart },
          { name: "quitter", command: "sh", args: ["-c", "echo bye; exit 3"], restart },
        ],
      },
    });
    for (const name of ["missing", "quitter"]) {
      const app = await waitFor(async () => {
        const a = await appInfo(agent, name);
        return a?.crashLoop ? a : undefined;
      }, { timeoutMs: 30_000, what: `${name} in crash loop` });
      expect(app.replicas.every((r) => r.state === "crash-loop")).toBe(true);
    }
    const evs = await events(agent);
    expect(evs.some((e) => e.type === "proc.spawn-failed" && e.target === "missing-0" && e.message.includes("could not start"))).toBe(true);
    expect(evs.some((e) => e.type === "proc.exited" && e.target === "quitter-0" && e.message.includes("code 3"))).toBe(true);
    for (const name of ["missing", "quitter"]) expect(evs.filter((e) => e.type === "proc.crash-loop" && e.target === name).length).toBe(1);
    expect((await fetch(`${agent.url}/readyz`)).status).toBe(200);
    const workers = ((await (await agent.api("/v1/agent")).json()) as { workers: Array<{ name: string; state: string }> }).workers;
    expect(workers.every((w) => w.state === "running")).toBe(true);
  }, 60_000);

  test("at shutdown a replica that ignores SIGTERM is killed after its stop timeout and nothing of it remains", async () => {
    await using agent = await startAgent({
      config: {
        apps: [{ name: "stubborn", command: "sh", args: ["-c", "trap '' TERM; while :; do sleep 1; done"], stop: { timeout: "1s" } }],
      },
    });
    const [r] = await waitFor(async () => {
      const rs = await replicas(agent, "stubborn");
      return rs.length === 1 && rs[0]!.state === "ready" && rs[0]!.pid ? rs : undefined;
    }, { timeoutMs: 20_000, what: "stubborn replica running" });
    const pid = r!.pid!;
    await waitFor(() => groupMembers(pid).length >= 2, { timeoutMs: 10_000, what: "the shell and its sleep" });
    try {
      expect(await agent.stop("SIGTERM")).toBe(0);
      const stopped = agent.lines.find((l) => l.event === "proc.stopped" && l.target === "stubborn-0");
      expect(String(stopped?.msg)).toContain("killed after the stop timeout");
      expect(alive(pid)).toBe(false);
      expect(groupMembers(pid)).toEqual([]);
    } finally {
      killQuietly(pid);
    }
  }, 60_000);

  test("contrast: a replica that honours SIGTERM stops gracefully, not killed", async () => {
    const { agent } = await startStack([demoApp("demo", 1)]);
    await using _ = agent;
    const [r] = await allReady(agent, "demo", 1);
    expect(await agent.stop("SIGTERM")).toBe(0);
    const stopped = agent.lines.find((l) => l.event === "proc.stopped" && l.target === "demo-0");
    expect(String(stopped?.msg)).not.toContain("killed");
    expect(alive(r!.pid!)).toBe(false);
  }, 60_000);

  test("a new agent on the same data dir adopts the replicas a SIGKILLed agent left running instead of starting them twice", async () => {
    const dataRoot = mkdtempSync(join(tmpdir(), "polis-adopt-"));
    const app = demoApp("demo", 2);
    const config = (port: number) => ({
      agent: { data_dir: join(dataRoot, "data"), balancer_workers: 1 },
      apps: [app],
      balancers: [{ name: "web", listen: `127.0.0.1:${port}`, backends: { app: "demo" } }],
    });
    const pids: number[] = [];
    try {
      await using first = await startAgent({ config: config(freePort()) });
      const before = await allReady(first, "demo", 2);
      pids.push(...before.map((r) => r.pid!));
      // Killed as soon as they are ready: whatever they print after this goes to their files, not to a dead reader.
      first.proc.kill("SIGKILL");
      await first.proc.exited;
      expect(pids.every(alive)).toBe(true);

      const port = freePort();
      await using second = await startAgent({ config: config(port) });
      const after = await allReady(second, "demo", 2);
      expect(after.map((r) => r.pid).sort()).toEqual([...pids].sort());
      expect(after.every((r) => r.adopted && r.restarts === 0)).toBe(true);
      const evs = await events(second);
      expect(evs.filter((e) => e.type === "proc.adopted").map((e) => e.target).sort()).toEqual(before.map((r) => `demo-${r.id}`).sort());
      expect(evs.some((e) => e.type === "proc.spawned")).toBe(false);
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(res.status).toBe(200);
      expect(pids).toContain(Number(/pid (\d+)/.exec(await res.text())?.[1]));

      // An adopted replica is not our child: its death is noticed by polling, and it is restarted in its slot.
      const [dead] = after;
      process.kill(dead!.pid!, "SIGKILL");
      const back = await waitFor(
        async () => (await replicas(second, "demo")).find((r) => r.id === dead!.id && r.state === "ready" && r.pid !== dead!.pid && !r.adopted),
        { timeoutMs: 30_000, what: "the dead adopted replica restarted" },
      );
      pids.push(back.pid!);
      expect(back.restarts).toBe(1);

      expect(await second.stop("SIGTERM")).toBe(0);
      await waitFor(() => pids.every((p) => !alive(p)), { timeoutMs: 10_000, what: "adopted replicas stopped at shutdown" });
    } finally {
      pids.forEach(killQuietly);
      rmSync(dataRoot, { recursive: true, force: true });
    }
  }, 90_000);

  test("when the procs worker crashes, the restarted worker adopts the running replicas and clients see no failure", async () => {
    const { agent, port } = await startStack([demoApp("demo", 2)], {}, { allow_fault_injection: true });
    await using _ = agent;
    const before = await allReady(agent, "demo", 2);
    const traffic = load(port);
    try {
      await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
      expect((await agent.api("/v1/agent/workers/procs/crash", { method: "POST" })).status).toBe(202);
      await agent.waitForLine((l) => l.event === "worker.restarted" && l.target === "procs", 30_000);
      const done = traffic.ok;
      await waitFor(() => traffic.ok >= done + 50, { timeoutMs: 20_000, what: "load after the worker restart" });
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    const after = await allReady(agent, "demo", 2);
    expect(after.map((r) => r.pid).sort()).toEqual(before.map((r) => r.pid).sort());
    expect(after.every((r) => r.adopted)).toBe(true);
  }, 90_000);

  test("a replica that keeps writing to stdout survives a SIGKILLed agent, is adopted with the same pid by the next one, and its new lines are readable", async () => {
    const dataRoot = mkdtempSync(join(tmpdir(), "polis-adopt-"));
    const config = { agent: { data_dir: join(dataRoot, "data") }, apps: [chattyApp(dataRoot)] };
    let pid = 0;
    try {
      await using first = await startAgent({ config });
      pid = (await chattyRunning(first)).pid!;
      await waitFor(() => ticks(dataRoot) >= 2, { timeoutMs: 10_000, what: "ticks before the kill" });
      first.proc.kill("SIGKILL");
      await first.proc.exited;
      const atDeath = ticks(dataRoot);
      await waitFor(() => ticks(dataRoot) >= atDeath + 5, { timeoutMs: 10_000, what: "ticks written after the agent died" });
      expect(alive(pid)).toBe(true);

      await using second = await startAgent({ config });
      const again = await chattyRunning(second);
      expect(again).toMatchObject({ pid, adopted: true, restarts: 0 });
      expect((await events(second)).some((e) => e.type === "proc.spawned")).toBe(false);
      await newTickLogged(second, ticks(dataRoot));
      expect(readFileSync(join(dataRoot, "data", "logs", "chatty-0.stdout.log"), "utf8")).toContain("tick 1\n");
      expect(await second.stop("SIGTERM")).toBe(0);
      await waitFor(() => !alive(pid), { timeoutMs: 10_000, what: "the adopted replica stopped at shutdown" });
    } finally {
      if (pid) killQuietly(pid);
      rmSync(dataRoot, { recursive: true, force: true });
    }
  }, 60_000);

  test("a replica that keeps writing to stdout survives a procs worker crash, is adopted with the same pid, and its new lines are readable", async () => {
    const dataRoot = mkdtempSync(join(tmpdir(), "polis-adopt-"));
    let pid = 0;
    try {
      await using agent = await startAgent({ config: { agent: { allow_fault_injection: true }, apps: [chattyApp(dataRoot)] } });
      pid = (await chattyRunning(agent)).pid!;
      await newTickLogged(agent, 0);
      expect((await agent.api("/v1/agent/workers/procs/crash", { method: "POST" })).status).toBe(202);
      await agent.waitForLine((l) => l.event === "worker.restarted" && l.target === "procs", 30_000);
      const again = await chattyRunning(agent);
      expect(again).toMatchObject({ pid, adopted: true });
      await newTickLogged(agent, ticks(dataRoot));
      expect(alive(pid)).toBe(true);
    } finally {
      if (pid) killQuietly(pid);
      rmSync(dataRoot, { recursive: true, force: true });
    }
  }, 60_000);


  test("at shutdown a replica that ignores SIGTERM is killed even when its stop timeout exceeds the agent's shutdown timeout", async () => {
    await using agent = await startAgent({
      config: {
        agent: { shutdown_timeout: "1s" },
        apps: [{ name: "stubborn", command: "sh", args: ["-c", "trap '' TERM; while :; do sleep 1; done"], stop: { timeout: "3s" } }],
      },
    });
    const [r] = await waitFor(async () => {
      const rs = await replicas(agent, "stubborn");
      return rs[0]?.state === "ready" ? rs : undefined;
    }, { timeoutMs: 20_000, what: "stubborn replica running" });
    try {
      expect(await agent.stop("SIGTERM")).toBe(0);
      expect(groupMembers(r!.pid!)).toEqual([]);
    } finally {
      killQuietly(r!.pid!);
    }
  }, 60_000);
});
