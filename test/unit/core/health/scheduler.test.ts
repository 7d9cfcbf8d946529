import { describe, expect, test } from "bun:test";
import { createScheduler, hashId, stagger } from "../../../../src/core/health/scheduler.ts";
import { createFakeClock } from "../../../support/fake-clock.ts";

describe("scheduler", () => {
  test("due returns checks in due-time order and only those due", () => {
    const clock = createFakeClock(0);
    const s = createScheduler(clock);
    s.add("c", 300, { intervalMs: 1000 });
    s.add("a", 100, { intervalMs: 1000 });
    s.add("b", 200, { intervalMs: 1000 });
    expect(s.due(50)).toEqual([]);
    expect(s.due(250)).toEqual(["a", "b"]);
    expect(s.nextDueAt()).toBe(300);
  });

  test("due defaults to the clock's now", () => {
    const clock = createFakeClock(0);
    const s = createScheduler(clock);
    s.add("a", 10, { intervalMs: 1000 });
    expect(s.due()).toEqual([]);
    clock.advance(10);
    expect(s.due()).toEqual(["a"]);
  });

  test("a running check is NOT due again until its run completes", () => {
    const clock = createFakeClock(0);
    const s = createScheduler(clock);
    s.add("a", 0, { intervalMs: 1000 });
    expect(s.due(0)).toEqual(["a"]);
    expect(s.isRunning("a")).toBe(true);
    expect(s.due(10_000)).toEqual([]);
    expect(s.complete("a", true, 10_000)).toBe(10_000);
    expect(s.due(10_000)).toEqual(["a"]);
  });

  test("the schedule of a healthy check is its list of interval delays", () => {
    const clock = createFakeClock(0);
    const s = createScheduler(clock);
    s.add("a", 0, { intervalMs: 1000, unhealthyIntervalMs: 250 });
    const starts: number[] = [];
    const health = [true, true, false, false, true];
    for (const healthy of health) {
      const t = s.nextDueAt()!;
      clock.set(t);
      expect(s.due()).toEqual(["a"]);
      starts.push(t);
      s.complete("a", healthy, t + 5);
    }
    expect(starts).toEqual([0, 1000, 2000, 2250, 2500]);
  });

  test("a run that ends after missed slots skips them and keeps its phase (no catch-up burst)", () => {
    const clock = createFakeClock(0);
    const s = createScheduler(clock);
    s.add("a", 250, { intervalMs: 1000 });
    s.due(250);
    expect(s.complete("a", true, 3500)).toBe(4250);
    s.due(4250);
    expect(s.complete("a", true, 4250)).toBe(5250);
  });

  test("removed checks are never due, even when removed while running", () => {
    const clock = createFakeClock(0);
    const s = createScheduler(clock);
    s.add("a", 0, { intervalMs: 1000 });
    s.add("b", 0, { intervalMs: 1000 });
    expect(s.remove("b")).toBe(true);
    expect(s.due(0)).toEqual(["a"]);
    s.remove("a");
    expect(s.complete("a", true, 10)).toBeUndefined();
    expect(s.due(1e9)).toEqual([]);
    expect(s.size).toBe(0);
    expect(s.nextDueAt()).toBeUndefined();
  });

  test("re-adding a waiting check replaces its due time", () => {
    const s = createScheduler(createFakeClock(0));
    s.add("a", 100, { intervalMs: 1000 });
    s.add("a", 500, { intervalMs: 1000 });
    expect(s.due(200)).toEqual([]);
    expect(s.due(500)).toEqual(["a"]);
  });

  test("re-adding a running check applies after the run completes", () => {
    const s = createScheduler(createFakeClock(0));
    s.add("a", 0, { intervalMs: 1000 });
    s.due(0);
    s.add("a", 50, { intervalMs: 5000 });
    expect(s.due(100)).toEqual([]);
    expect(s.complete("a", true, 20)).toBe(50);
    s.due(50);
    expect(s.complete("a", true, 60)).toBe(5050);
  });

  test("stagger spreads first due times deterministically over one interval", () => {
    expect(stagger("check-1", 1000, 0)).toBe(stagger("check-1", 1000, 0));
    expect(stagger("x", 1000, 5000)).toBe(5000 + (hashId("x") % 1000));
    const offsets = Array.from({ length: 1000 }, (_, i) => stagger(`c${i}`, 1000, 0));
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...offsets)).toBeLessThan(1000);
    // Spread: each tenth of the interval gets some checks.
    const buckets = new Set(offsets.map((o) => Math.floor(o / 100)));
    expect(buckets.size).toBe(10);
  });

  test("ties are served in insertion order", () => {
    const s = createScheduler(createFakeClock(0));
    for (const id of ["z", "y", "x"]) s.add(id, 7, { intervalMs: 1000 });
    expect(s.due(7)).toEqual(["z", "y", "x"]);
  });

  test("a heap of many checks yields them sorted", () => {
    const s = createScheduler(createFakeClock(0));
    const times = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1000);
    times.forEach((t, i) => s.add(`c${i}`, t, { intervalMs: 1000 }));
    const ids = s.due(1000);
    const got = ids.map((id) => times[Number(id.slice(1))]);
    expect(got).toEqual(times.slice().sort((a, b) => a - b));
  });
});
