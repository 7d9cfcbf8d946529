// The connection balance between balancer workers: who closes how many connections, from the counts alone.
import { describe, expect, test } from "bun:test";
import { CONN_BALANCE_DEFAULTS, decideShed } from "../../../../src/core/balancing/conn-balance.ts";

const at = (active: number, t = 0) => ({ active, at: t });

describe("connection balance between workers", () => {
  test("a worker alone never sheds, whatever it holds", () => {
    expect(decideShed(500, [], 0)).toEqual({ shed: 0, fair: 500, reason: "no-peers" });
  });

  test("the fuller of two workers sheds down to the fair share; the other sheds nothing", () => {
    expect(decideShed(33, [at(17)], 0)).toEqual({ shed: 8, fair: 25, reason: "above-share" });
    expect(decideShed(17, [at(33)], 0)).toEqual({ shed: 0, fair: 25, reason: "within-share" });
  });

  test("a split within the slack is left alone (max of 2 connections and 5% of the share)", () => {
    expect(decideShed(27, [at(23)], 0).shed).toBe(0);
    expect(decideShed(28, [at(22)], 0).shed).toBe(3);
    // 400 connections: the share is 200, the slack 10.
    expect(decideShed(210, [at(190)], 0).shed).toBe(0);
    expect(decideShed(211, [at(189)], 0).shed).toBe(11);
  });

  test("few connections are never shed: one worker holding all of 4 is within the slack", () => {
    expect(decideShed(4, [at(0)], 0).shed).toBe(0);
    expect(decideShed(3, [at(0), at(0)], 0).shed).toBe(0);
  });

  test("three workers: the share is a third of the total", () => {
    expect(decideShed(60, [at(20), at(10)], 0)).toEqual({ shed: 30, fair: 30, reason: "above-share" });
  });

  test("a report older than staleMs is a worker that is gone: it counts neither in the total nor as a worker", () => {
    const now = 10_000;
    expect(decideShed(40, [at(0, now - CONN_BALANCE_DEFAULTS.staleMs - 1)], now).reason).toBe("no-peers");
    expect(decideShed(40, [at(0, now - CONN_BALANCE_DEFAULTS.staleMs - 1), at(20, now)], now).shed).toBe(10);
  });

  test("repeated over a split the kernel re-hashes, connections only ever move off the fullest worker", () => {
    // A simulated run: every shed connection reconnects to worker 0 or 1 alternately (a fair coin, deterministic).
    const counts = [40, 10];
    let coin = 0;
    for (let round = 0; round < 10; round++) {
      const before = [...counts];
      const shed = counts.map((c, i) => decideShed(c, [at(counts[1 - i]!)], 0).shed);
      expect(shed.filter((s) => s > 0).length).toBeLessThanOrEqual(1);
      for (let i = 0; i < 2; i++) {
        counts[i]! -= shed[i]!;
        for (let k = 0; k < shed[i]!; k++) counts[coin++ % 2]!++;
      }
      expect(counts[0]! + counts[1]!).toBe(50);
      if (shed.every((s) => s === 0)) expect(counts).toEqual(before);
    }
    expect(Math.abs(counts[0]! - counts[1]!)).toBeLessThanOrEqual(4);
  });
});
