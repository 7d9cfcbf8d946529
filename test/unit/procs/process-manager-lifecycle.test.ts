// Process manager, happy paths: ports, readiness, scaling, kill -9 recovery, stats, logs, stopAll.
import { describe, expect, test } from "bun:test";
import { canConnect } from "../../../src/procs/readiness.ts";
import { isRunning } from "../../../src/procs/proc-stat.ts";
import { waitFor } from "../../support/wait-for.ts";
import { fastSpec, harness, portRange } from "./harness.ts";

describe("process manager lifecycle", () => {
  test("replicas get distinct ports from the range, skipping one already in use, and become ready", async () => {
    await using h = harness();
    const port = portRange();
    const squatter = Bun.listen({ hostname: "127.0.0.1", port: port.from, socket: { data() {} } });
    try {
      await h.pm.apply([fastSpec("web", "server", { replicas: 2, port, readiness: { kind: "port", timeoutMs: 5_000 } })]);
      await waitFor(() => h.of("ready").length === 2, { what: "two ready" });
      const ports = h.pm.snapshot()[0]!.replicas.map((r) => r.port);
      expect(ports).toEqual([port.from + 1, port.from + 2]);
      for (const p of ports) expect(await canConnect(p!)).toBe(true);
    } finally {
      squatter.stop(true);
    }
  });

  test("two apps given the same range never share a port, even before any replica listens", async () => {
    // Validation refuses overlapping ranges; the allocator must not depend on it (nor on a listener showing in /proc).
    await using h = harness();
    const port = portRange(8);
    await h.pm.apply([fastSpec("a", "idle", { replicas: 2, port }), fastSpec("b", "idle", { replicas: 2, port })]);
    await waitFor(() => h.of("spawned").length === 4, { what: "four spawned" });
    const ports = h.pm.snapshot().flatMap((a) => a.replicas.map((r) => r.port));
    expect(ports.every((p) => p !== null && p >= port.from && p <= port.to)).toBe(true);
    expect(new Set(ports).size).toBe(4);
  });

  test("stdout readiness waits for the pattern", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("web", "server", { port: portRange(), readiness: { kind: "stdout", pattern: "^READY", timeoutMs: 5_000 } })]);
    const ready = await h.waitEvent("ready");
    expect(h.pm.logs("web", 0).some((l) => l.line.startsWith("READY"))).toBe(true);
    expect(ready.port).not.toBeNull();
  });

  test("scale-down stops the highest-numbered replicas after the beforeStop hook", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("web", "server", { replicas: 3, port: portRange(), readiness: { kind: "stdout", pattern: "^READY" } })]);
    await waitFor(() => h.of("ready").length === 3);
    const pids = h.pm.snapshot()[0]!.replicas.map((r) => r.pid!);
    await h.pm.scale("web", 1);
    expect(h.stoppedBefore.map((r) => r.id).sort()).toEqual([1, 2]);
    expect(h.pm.snapshot()[0]!.replicas.map((r) => r.id)).toEqual([0]);
    expect(isRunning(pids[0]!)).toBe(true);
    expect(isRunning(pids[1]!) || isRunning(pids[2]!)).toBe(false);
    const stopped = h.of("stopped").map((e) => [e.id, e.reason, e.forced]);
    expect(stopped.sort()).toEqual([
      [1, "scale-down", false],
      [2, "scale-down", false],
    ]);
  });

  test("a replica killed with SIGKILL is restarted on the same port and serves again", async () => {
    await using h = harness();
    const port = portRange();
    await h.pm.apply([fastSpec("web", "server", { port, readiness: { kind: "port", timeoutMs: 5_000 } })]);
    const first = await h.waitEvent("ready");
    process.kill(first.pid, "SIGKILL");
    const exit = await h.waitEvent("exited");
    expect([exit.signal, exit.reason]).toEqual(["SIGKILL", "killed-by-signal"]);
    const restarting = await h.waitEvent("restarting");
    expect(restarting.reason).toBe("killed-by-signal");
    const second = await h.waitEvent("ready", (e) => e.pid !== first.pid);
    expect(second.port).toBe(port.from);
    expect(h.replica("web", 0)).toMatchObject({ restarts: 1, state: "ready", lastExit: { signal: "SIGKILL" } });
  });

  test("stats arrive in one batch per tick with the group's RSS", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("a", "server", { port: portRange() }), fastSpec("b", "server", { port: portRange() })]);
    // The first sample may catch a child between fork and exec, still tiny: wait for both to be running Bun.
    const batch = await waitFor(() => h.stats.find((b) => b.length === 2 && b.every((s) => s.rssBytes > 4 * 1024 * 1024)), {
      what: "a batch of two running replicas",
    });
    for (const s of batch) {
      expect(s.processes).toBe(1);
      expect(s.cpuPercent).toBeGreaterThanOrEqual(0);
    }
  });

  test("followLogs streams lines until unsubscribed; a throwing follower is reported, not fatal", async () => {
    await using h = harness();
    const seen: string[] = [];
    const off = h.pm.followLogs("web", (l) => seen.push(l.line));
    h.pm.followLogs("web", () => {
      throw new Error("bad follower");
    });
    await h.pm.apply([fastSpec("web", "server", { port: portRange(), readiness: { kind: "stdout", pattern: "^READY" } })]);
    await waitFor(() => seen.some((l) => l.startsWith("READY")));
    off();
    expect(h.of("error").some((e) => e.message.includes("bad follower"))).toBe(true);
  });

  test("on-failure does not restart a replica that exits with code 0", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("job", "exit", { args: [fastSpec("", "exit").args![0]!, "0"], restart: { mode: "on-failure" } })]);
    const stopped = await h.waitEvent("stopped");
    expect(stopped.reason).toBe("clean-exit");
    expect(h.of("restarting")).toHaveLength(0);
    expect(h.replica("job", 0)?.state).toBe("exited");
  });

  test("stopAll stops every replica and a second call is harmless", async () => {
    const h = harness();
    await h.pm.apply([fastSpec("web", "server", { replicas: 2, port: portRange(), readiness: { kind: "stdout", pattern: "^READY" } })]);
    await waitFor(() => h.of("ready").length === 2);
    const pids = h.pm.snapshot()[0]!.replicas.map((r) => r.pid!);
    await h.pm.stopAll();
    await h.pm.stopAll();
    expect(pids.filter(isRunning)).toEqual([]);
    expect(h.pm.snapshot()[0]!.replicas.map((r) => r.state)).toEqual(["stopped", "stopped"]);
  });
});
