// Backoff: delay schedules as lists, jitter bounds, cap and reset after a stable period.
import { describe, expect, test } from "bun:test";
import { DEFAULT_BACKOFF, INITIAL_BACKOFF, type BackoffOptions, nextBackoff, settleBackoff } from "../../../../src/core/supervision/backoff.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

function schedule(opts: BackoffOptions, n: number, seed = 1): number[] {
  const rng = createSeededRng(seed);
  let state = INITIAL_BACKOFF;
  const delays: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = nextBackoff(opts, state, rng);
    delays.push(r.delayMs);
    state = r.state;
  }
  return delays;
}

describe("backoff", () => {
  test("without jitter the delays double from 100 ms up to the 15 s cap", () => {
    expect(schedule({ ...DEFAULT_BACKOFF, jitter: "none" }, 10)).toEqual([
      100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000,
    ]);
  });

  test("decorrelated jitter with a seeded rng gives a reproducible schedule", () => {
    const a = schedule(DEFAULT_BACKOFF, 12, 42);
    expect(a).toEqual(schedule(DEFAULT_BACKOFF, 12, 42));
    expect(a).toEqual([220, 351, 912, 1865, 1061, 1723, 1485, 2821, 7338, 10450, 7910, 15000]);
  });

  test("decorrelated delays never drop below the initial delay nor exceed the cap", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      for (const d of schedule(DEFAULT_BACKOFF, 40, seed)) {
        expect(d).toBeGreaterThanOrEqual(100);
        expect(d).toBeLessThanOrEqual(15_000);
      }
    }
  });

  test("decorrelated delays grow: the 10th is well above the first on average", () => {
    let first = 0;
    let tenth = 0;
    for (let seed = 0; seed < 50; seed++) {
      const s = schedule(DEFAULT_BACKOFF, 10, seed);
      first += s[0]!;
      tenth += s[9]!;
    }
    expect(tenth / 50).toBeGreaterThan(10 * (first / 50));
  });

  test("full jitter stays under the exponential ceiling", () => {
    const s = schedule({ ...DEFAULT_BACKOFF, jitter: "full" }, 10, 7);
    s.forEach((d, i) => expect(d).toBeLessThanOrEqual(Math.min(15_000, 100 * 2 ** i)));
  });

  test("a replica that stayed up for the stable period starts again from the initial delay", () => {
    const worn = { attempt: 8, prevDelayMs: 12_000 };
    expect(settleBackoff(DEFAULT_BACKOFF, worn, 30_000)).toEqual(INITIAL_BACKOFF);
    expect(settleBackoff(DEFAULT_BACKOFF, worn, 29_999)).toEqual(worn);
  });
});

describe("immediate first restart", () => {
  test("the first restart after a reset is immediate, then the delays grow exponentially as before", () => {
    const opts = { ...DEFAULT_BACKOFF, jitter: "none" as const, immediateFirst: true };
    const delays: number[] = [];
    let state = INITIAL_BACKOFF;
    for (let i = 0; i < 4; i++) {
      const r = nextBackoff(opts, state, createSeededRng(1));
      delays.push(r.delayMs);
      state = r.state;
    }
    expect(delays).toEqual([0, 200, 400, 800]);
    expect(nextBackoff(opts, settleBackoff(opts, state, opts.stableMs), createSeededRng(1)).delayMs).toBe(0);
  });

  test("contrast: without it the first restart waits the initial delay", () => {
    expect(nextBackoff({ ...DEFAULT_BACKOFF, jitter: "none" }, INITIAL_BACKOFF, createSeededRng(1)).delayMs).toBe(100);
  });
});
