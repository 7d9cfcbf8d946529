// Process manager under bad input: missing command, crash loops, SIGTERM ignored, grandchildren,
// output floods, readiness that never comes, memory limit and a silent watchdog.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRunning } from "../../../src/procs/proc-stat.ts";
import { waitFor } from "../../support/wait-for.ts";
import { fastSpec, fixture, harness, portRange } from "./harness.ts";

describe("process manager failures", () => {
  test("a command that does not exist fails to spawn, backs off, then reaches crash-loop", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("ghost", "exit", { command: "/nonexistent/polis-no-such-binary", args: [] })]);
    const loop = await h.waitEvent("crash-loop");
    expect(loop.reason).toBe("crash-loop");
    expect(h.of("spawn-failed").length).toBe(4);
    expect(h.of("restarting").map((e) => [e.delayMs, e.reason])).toEqual([
      [5, "spawn-failed"],
      [10, "spawn-failed"],
      [20, "spawn-failed"],
    ]);
    expect(h.pm.snapshot()[0]).toMatchObject({ crashLoop: true, replicas: [{ state: "crash-loop", pid: null }] });
  });

  test("a replica that exits at once stops being restarted in crash-loop until an operator resets", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("crashy", "exit")]);
    await h.waitEvent("crash-loop");
    const starts = h.of("starting").length;
    expect(starts).toBe(4);
    // Contrast: nothing more starts by itself (the cooldown is 60 s). An operator reset starts it again.
    await h.pm.resetCrashLoop("crashy");
    expect(h.of("crash-loop-cleared")[0]?.reason).toBe("operator-reset");
    await waitFor(() => h.of("starting").length > starts, { what: "a start after reset" });
  });

  test("a replica that ignores SIGTERM is killed with SIGKILL after the stop timeout", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("stubborn", "ignore-term", { stop: { timeoutMs: 300 }, readiness: { kind: "stdout", pattern: "^READY" } })]);
    const ready = await h.waitEvent("ready");
    await h.pm.stopAll();
    expect(h.of("stopped")[0]).toMatchObject({ forced: true, reason: "shutdown" });
    expect(h.of("exited")[0]?.signal).toBe("SIGKILL");
    expect(h.pm.logs("stubborn", 0).some((l) => l.line === "ignoring SIGTERM")).toBe(true);
    expect(isRunning(ready.pid)).toBe(false);
  });

  test("grandchildren die with the replica: the stop reaches the whole process group", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("forker", "fork", { readiness: { kind: "stdout", pattern: "^READY" } })]);
    await h.waitEvent("ready");
    const kids = h.pm.logs("forker", 0).find((l) => l.line.startsWith("CHILDREN"))!.line.split(" ").slice(1).map(Number);
    expect(kids.every(isRunning)).toBe(true);
    await h.pm.scale("forker", 0);
    // A killed grandchild may stay a zombie until init reaps it; it no longer runs.
    expect(kids.filter(isRunning)).toEqual([]);
  });

  test("contrast: a plain kill of the leader does NOT reach its grandchildren", async () => {
    const leader = Bun.spawn([process.execPath, fixture("fork")], { stdout: "pipe", detached: true });
    try {
      const reader = leader.stdout.getReader();
      let text = "";
      while (!text.includes("READY")) text += new TextDecoder().decode((await reader.read()).value);
      reader.releaseLock();
      const kids = /CHILDREN ([\d ]+)/.exec(text)![1]!.split(" ").map(Number);
      process.kill(leader.pid, "SIGKILL");
      await leader.exited;
      expect(kids.filter(isRunning)).toEqual(kids);
    } finally {
      try {
        process.kill(-leader.pid, "SIGKILL");
      } catch {}
    }
  });

  test("a replica flooding stdout keeps the ring and the rotated log files bounded, and its tail catches up afterwards", async () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-procs-logs-"));
    try {
      await using h = harness();
      const maxBytes = 64 * 1024;
      await h.pm.apply([fastSpec("flood", "flood", { logs: { dir, maxBytes, files: 2, ringLines: 50 } })]);
      await waitFor(() => h.pm.logs("flood", 0, 1000).at(-1)?.line === "FLOOD DONE", { what: "the last line of the flood in the ring" });
      expect(h.pm.logs("flood", 0, 1000).length).toBe(50);
      await h.pm.stopAll();
      // How many generations a flood fills depends on how many polls it spans; never more than `files`.
      const files = readdirSync(dir).sort();
      expect(files.slice(0, 3)).toEqual(["flood-0.stderr.log", "flood-0.stdout.log", "flood-0.stdout.log.1"]);
      expect(files.slice(3).every((f) => f === "flood-0.stdout.log.2")).toBe(true);
      expect(statSync(join(dir, "flood-0.stdout.log")).size).toBeLessThanOrEqual(maxBytes);
      for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(2 * maxBytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a replica that never becomes ready is reported with a message, then killed and restarted", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("mute", "idle", { port: portRange(), readiness: { kind: "port", timeoutMs: 200 } })]);
    const notReady = await h.waitEvent("not-ready");
    expect(notReady.reason).toBe("readiness-timeout");
    expect(notReady.message).toContain("not ready after 200 ms");
    const restarting = await h.waitEvent("restarting");
    expect(restarting.reason).toBe("readiness-timeout");
  });

  test("under mode never, a replica that never becomes ready ends failed", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("mute", "idle", { readiness: { kind: "stdout", pattern: "^READY", timeoutMs: 150 }, restart: { mode: "never" } })]);
    const stopped = await h.waitEvent("stopped");
    expect(stopped.reason).toBe("mode-never");
    expect(h.replica("mute", 0)).toMatchObject({ state: "failed", lastExit: { reason: "readiness-timeout" } });
  });

  test("a replica above max_memory is killed with reason memory-limit and restarted", async () => {
    await using h = harness();
    await h.pm.apply([
      fastSpec("hog", "server", { port: portRange(), env: { ALLOC_MB: "80" }, maxMemoryBytes: 40 * 1024 * 1024 }),
    ]);
    const stopping = await h.waitEvent("stopping", (e) => e.reason === "memory-limit");
    expect(stopping.signal).toBe("SIGTERM");
    expect((await h.waitEvent("restarting")).reason).toBe("memory-limit");
  });

  test("a replica whose heartbeats stop is killed by the watchdog", async () => {
    await using h = harness();
    await h.pm.apply([
      fastSpec("beat", "server", {
        port: portRange(),
        env: { HEARTBEAT_MS: "20", HEARTBEATS: "5" },
        watchdog: { timeoutMs: 300 },
      }),
    ]);
    await h.waitEvent("stopping", (e) => e.reason === "watchdog-timeout");
    expect(h.pm.logs("beat", 0, 100).filter((l) => l.line === "HEARTBEAT").length).toBe(5);
    expect((await h.waitEvent("restarting")).reason).toBe("watchdog-timeout");
  });

  test("a throwing event hook does not break supervision", async () => {
    const { ProcessManager } = await import("../../../src/procs/process-manager.ts");
    let ready = 0;
    const pm = new ProcessManager({
      onEvent: (e) => {
        if (e.type === "ready") ready++;
        throw new Error("hook bug");
      },
    });
    try {
      await pm.apply([fastSpec("web", "server", { port: portRange() })]);
      await waitFor(() => ready === 1);
    } finally {
      await pm.stopAll();
    }
  });
});
