// /proc readers: own process facts, group sums over a detached child tree, CPU% arithmetic.
import { describe, expect, test } from "bun:test";
import { cpuPercent, groupMembers, isRunning, readProcStat, readRssBytes, scanGroups } from "../../../src/procs/proc-stat.ts";
import { waitFor } from "../../support/wait-for.ts";
import { fixture } from "./harness.ts";

describe("proc stat", () => {
  test("reads this process: running, a start time that does not change, RSS in bytes", () => {
    const a = readProcStat(process.pid)!;
    expect(a.state).toMatch(/[RS]/);
    expect(readProcStat(process.pid)!.startTime).toBe(a.startTime);
    expect(readRssBytes(process.pid)!).toBeGreaterThan(1024 * 1024);
  });

  test("a missing pid reads as null and not running", () => {
    expect(readProcStat(2 ** 22 + 7)).toBeNull();
    expect(isRunning(2 ** 22 + 7)).toBe(false);
  });

  test("a detached leader and its grandchildren are summed as one group", async () => {
    const leader = Bun.spawn([process.execPath, fixture("fork")], { stdout: "pipe", detached: true });
    try {
      await waitFor(() => groupMembers(leader.pid).length === 3, { what: "three members" });
      const u = scanGroups(new Set([leader.pid])).get(leader.pid)!;
      expect(u.processes).toBe(3);
      expect(u.rssBytes).toBeGreaterThan(readRssBytes(leader.pid)!);
    } finally {
      process.kill(-leader.pid, "SIGKILL");
      await leader.exited;
    }
  });

  test.each([
    [0, 100, 1000, 100],
    [0, 50, 1000, 50],
    [0, 200, 1000, 200],
    [100, 50, 1000, 0],
    [0, 10, 0, 0],
  ])("ticks %d -> %d over %d ms is %d%% of a core", (prev, now, ms, pct) => {
    expect(cpuPercent(prev, now, ms)).toBe(pct);
  });
});
