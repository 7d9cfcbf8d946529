// Hitless restart and upgrade of the compiled agent: a successor adopts the replicas, binds the balancer beside the
// running agent, and takes over while a bounded load loop of real HTTP requests goes through the balancer.
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, allReady, demoApp, load, replicas, startStack } from "../fixtures/it-apps-fixture.ts";
import { BINARY, type RunningAgent, requireBinary, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";

/** Stops an agent we did not spawn ourselves (a successor started by the running agent): SIGTERM, wait until gone. */
async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, "SIGTERM");
  await waitFor(() => !alive(pid), { timeoutMs: 30_000, what: `agent pid ${pid} gone` }).catch(() => process.kill(pid, "SIGKILL"));
}

/** The "agent ready" line of an agent other than `agent` itself, written into the same output (it inherited it). */
async function successorReady(agent: RunningAgent): Promise<number> {
  const line = await agent.waitForLine((l) => l.msg === "agent ready" && l.pid !== agent.proc.pid, 60_000);
  return Number(line.pid);
}

describe("agent takeover", () => {
  test("polis agent --takeover under load: the replicas are adopted with the same pids, the old agent exits 0, and no request fails", async () => {
    requireBinary();
    const { agent, port } = await startStack([demoApp("demo", 2)]);
    await using _old = agent;
    const before = await allReady(agent, "demo", 2);
    const traffic = load(port, 8);
    try {
      await waitFor(() => traffic.ok >= 100, { timeoutMs: 20_000, what: "load flowing" });
      await using next = await startAgent({ sameDirAs: agent, args: ["--takeover"], readyTimeoutMs: 60_000 });
      expect(await agent.proc.exited).toBe(0);
      const atExit = traffic.ok;
      await waitFor(() => traffic.ok >= atExit + 200, { timeoutMs: 20_000, what: "load served by the new agent alone" });
      await traffic.stop();
      expect(traffic.failures).toEqual([]);
      const after = await replicas(next, "demo");
      expect(after.map((r) => [r.id, r.pid, r.adopted, r.restarts])).toEqual(before.map((r) => [r.id, r.pid, true, r.restarts]));
      expect(before.every((r) => alive(r.pid!))).toBe(true);
      expect(agent.lines.some((l) => l.msg === "the successor agent serves; draining and exiting, replicas keep running")).toBe(true);
    } finally {
      await traffic.stop();
    }
  }, 120_000);

  test("polis upgrade BINARY: the running agent starts that binary, which takes over; the replicas keep their pids", async () => {
    requireBinary();
    const { agent, port } = await startStack([demoApp("demo", 1)]);
    await using _old = agent;
    const [before] = await allReady(agent, "demo", 1);
    const next = join(agent.dir, "polis-next");
    copyFileSync(BINARY, next);
    chmodSync(next, 0o755);
    let pid = 0;
    try {
      const cli = Bun.spawn([BINARY, "upgrade", next, "--config", join(agent.dir, "agent.yaml")], { cwd: agent.dir, stdout: "pipe", stderr: "pipe" });
      const [code, out, err] = await Promise.all([cli.exited, new Response(cli.stdout).text(), new Response(cli.stderr).text()]);
      expect({ code, err }).toEqual({ code: 0, err: "" });
      pid = Number(/upgraded: pid (\d+)/.exec(out)?.[1]);
      expect(pid).toBe(await successorReady(agent));
      expect(await agent.proc.exited).toBe(0);
      const { readlinkSync } = await import("node:fs");
      expect(readlinkSync(`/proc/${pid}/exe`)).toBe(next);
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(await res.text()).toContain(`pid ${before!.pid}`);
    } finally {
      if (pid) await stopPid(pid);
    }
    expect(alive(before!.pid!)).toBe(false);
  }, 120_000);

  test("contrast: polis upgrade with a binary that rejects the config changes nothing; the old agent keeps serving", async () => {
    requireBinary();
    const { agent, port } = await startStack([demoApp("demo", 1)]);
    await using _old = agent;
    const [before] = await allReady(agent, "demo", 1);
    const bad = join(agent.dir, "polis-bad");
    writeFileSync(bad, "#!/bin/sh\necho 'apps.0.command: unknown setting' >&2\nexit 1\n");
    chmodSync(bad, 0o755);
    const cli = Bun.spawn([BINARY, "upgrade", bad, "--config", join(agent.dir, "agent.yaml")], { cwd: agent.dir, stdout: "pipe", stderr: "pipe" });
    const [code, err] = await Promise.all([cli.exited, new Response(cli.stderr).text()]);
    expect(code).toBe(1);
    expect(err).toContain("validate");
    expect(err).toContain("apps.0.command: unknown setting");
    expect(agent.proc.exitCode).toBeNull();
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(await res.text()).toContain(`pid ${before!.pid}`);
    expect((await agent.api("/v1/apps/demo")).status).toBe(200);
  }, 60_000);

  test("SIGUSR2 restarts the agent in place: a successor from the same binary takes over and the replicas keep their pids", async () => {
    requireBinary();
    const { agent, port } = await startStack([demoApp("demo", 1)]);
    await using _old = agent;
    const [before] = await allReady(agent, "demo", 1);
    let pid = 0;
    try {
      agent.proc.kill("SIGUSR2");
      pid = await successorReady(agent);
      expect(await agent.proc.exited).toBe(0);
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(await res.text()).toContain(`pid ${before!.pid}`);
    } finally {
      if (pid) await stopPid(pid);
    }
  }, 120_000);

  test("a second agent without --takeover on the same data dir refuses to start, naming the way to replace the running one", async () => {
    requireBinary();
    const { agent } = await startStack([demoApp("demo", 1)]);
    await using _old = agent;
    await allReady(agent, "demo", 1);
    const second = Bun.spawn([BINARY, "agent", "--config", join(agent.dir, "agent.yaml")], { cwd: agent.dir, stdout: "pipe", stderr: "pipe" });
    const [code, err] = await Promise.all([second.exited, new Response(second.stderr).text()]);
    expect(code).toBe(1);
    expect(err).toContain("another agent is running with data dir");
    expect(err).toContain("--takeover");
    expect(agent.proc.exitCode).toBeNull();
  }, 60_000);
});
