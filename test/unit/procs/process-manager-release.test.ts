// Releasing replicas to a successor agent (takeover): nothing is signalled, nothing is restarted, a second manager adopts.
import { describe, expect, test } from "bun:test";
import { isRunning, readProcStat } from "../../../src/procs/proc-stat.ts";
import { waitFor } from "../../support/wait-for.ts";
import { fastSpec, harness, portRange } from "./harness.ts";

const killGroup = (pid: number) => {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
};

describe("release", () => {
  test("released replicas keep running through stopAll(), and a second manager adopts them without a restart", async () => {
    const port = portRange();
    const pids: number[] = [];
    try {
      await using old = harness();
      await old.pm.apply([fastSpec("web", "server", { replicas: 2, port })]);
      await waitFor(() => old.of("ready").length === 2, { what: "two replicas ready" });
      const snap = old.pm.snapshot()[0]!.replicas;
      pids.push(...snap.map((r) => r.pid!));
      expect(old.pm.release()).toBe(2);
      await old.pm.stopAll();
      expect(pids.map(isRunning)).toEqual([true, true]);
      expect(old.of("stopping")).toEqual([]);

      await using next = harness();
      next.pm.adopt(snap.map((r) => ({ app: "web", id: r.id, pid: r.pid!, startTime: readProcStat(r.pid!)!.startTime, port: r.port })));
      await next.pm.apply([fastSpec("web", "server", { replicas: 2, port })]);
      expect(next.of("adopted").map((e) => e.pid)).toEqual(pids);
      expect(next.of("starting")).toEqual([]);
      await next.pm.stopAll();
      expect(pids.map(isRunning)).toEqual([false, false]);
    } finally {
      pids.forEach(killGroup);
    }
  });

  test("a released replica that dies is NOT restarted by the manager that let it go", async () => {
    const port = portRange();
    await using h = harness();
    await h.pm.apply([fastSpec("web", "server", { replicas: 1, port })]);
    const ready = await h.waitEvent("ready");
    h.pm.release();
    process.kill(ready.pid, "SIGKILL");
    await waitFor(() => !isRunning(ready.pid), { what: "the replica gone" });
    // The exit is still reported (the successor's supervisor may use it), but nothing starts again.
    await h.waitEvent("exited");
    expect(h.of("restarting")).toEqual([]);
    expect(h.of("starting").length).toBe(1);
  });

  test("contrast: stopAll() without release stops every replica", async () => {
    const port = portRange();
    await using h = harness();
    await h.pm.apply([fastSpec("web", "server", { replicas: 1, port })]);
    const ready = await h.waitEvent("ready");
    await h.pm.stopAll();
    expect(isRunning(ready.pid)).toBe(false);
  });
});
