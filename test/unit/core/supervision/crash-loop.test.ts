// Crash-loop budget: trips above N restarts in the window, not at N; cooldown bookkeeping.
import { describe, expect, test } from "bun:test";
import {
  DEFAULT_CRASH_LOOP,
  INITIAL_CRASH_LOOP,
  cooldownElapsed,
  cooldownRemaining,
  isTripped,
  recordRestart,
} from "../../../../src/core/supervision/crash-loop.ts";

const opts = { maxRestarts: 3, windowMs: 1_000, cooldownMs: 5_000, minUptimeMs: 1_000 };

function replay(times: number[]) {
  return times.reduce((s, t) => recordRestart(opts, s, t), INITIAL_CRASH_LOOP);
}

describe("crash-loop budget", () => {
  test.each([
    [[0, 10, 20], false, "exactly N restarts in the window does NOT trip"],
    [[0, 10, 20, 30], true, "N + 1 restarts in the window trips"],
    [[0, 400, 800, 1200, 1600], false, "restarts spread wider than the window do NOT trip"],
    [[0, 900, 950, 980], true, "the window slides: four within 1 s trips"],
  ] as const)("%j -> tripped %p (%s)", (times, tripped) => {
    expect(isTripped(replay([...times]))).toBe(tripped);
  });

  test("the cooldown runs from the moment the budget tripped", () => {
    const s = replay([0, 10, 20, 30]);
    expect(s.trippedAt).toBe(30);
    expect(cooldownRemaining(opts, s, 1_030)).toBe(4_000);
    expect(cooldownElapsed(opts, s, 5_029)).toBe(false);
    expect(cooldownElapsed(opts, s, 5_030)).toBe(true);
  });

  test("memory stays bounded however many restarts are recorded", () => {
    let s = INITIAL_CRASH_LOOP;
    for (let t = 0; t < 10_000; t++) s = recordRestart(opts, s, t);
    expect(s.restarts.length).toBe(opts.maxRestarts + 1);
  });

  test("defaults are 10 unstable restarts in 60 s, a 5 minute cooldown and 1 s of min uptime", () => {
    expect(DEFAULT_CRASH_LOOP).toEqual({ maxRestarts: 10, windowMs: 60_000, cooldownMs: 300_000, minUptimeMs: 1_000 });
  });
});
