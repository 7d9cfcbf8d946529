// peak_ewma: slow endpoints lose traffic at once, win it back as their estimate decays.
import { describe, expect, test } from "bun:test";
import { createPeakEwma } from "../../../../src/core/balancing/peak-ewma.ts";
import { pool } from "../../../conformance/balancing.case.ts";
import { createFakeClock } from "../../../support/fake-clock.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

function setup() {
  const clock = createFakeClock(0);
  const p = createPeakEwma({ clock, rng: createSeededRng(1), decayMs: 10_000, defaultRttMs: 30 });
  p.update(pool([1, 1]));
  return { clock, p };
}

describe("peak_ewma", () => {
  test("one slow answer makes an endpoint lose every comparison (peak sensitive)", () => {
    const { p } = setup();
    p.onStart!(0);
    p.onDone!(0, 500, true);
    for (let k = 0; k < 20; k++) expect(p.pick({ hash: 0 })).toBe(1);
  });

  test("a slow endpoint left alone is tried again once its estimate decays", () => {
    const { clock, p } = setup();
    p.onStart!(0);
    p.onDone!(0, 500, true);
    clock.advance(60_000); // 500 * e^-6 ~ 1.2 ms
    p.onStart!(1);
    p.onDone!(1, 30, true); // the other endpoint keeps answering in 30 ms
    expect(p.pick({ hash: 0 })).toBe(0);
  });

  test("fast answers pull the estimate down gradually, not at once", () => {
    const { clock, p } = setup();
    p.onStart!(0);
    p.onDone!(0, 500, true);
    clock.advance(100);
    p.onStart!(0);
    p.onDone!(0, 1, true);
    expect(p.pick({ hash: 0 })).toBe(1); // ~495 ms after one fast answer
  });

  test("a fast failure counts as the failure penalty, not as a fast answer", () => {
    const { p } = setup();
    p.onStart!(0);
    p.onDone!(0, 0.2, false);
    expect(p.pick({ hash: 0 })).toBe(1);
  });

  test("in-flight requests multiply the cost", () => {
    const { p } = setup();
    for (let k = 0; k < 3; k++) p.onStart!(1);
    expect(p.pick({ hash: 0 })).toBe(0);
  });

  test("latency state survives an update that keeps the endpoint", () => {
    const { p } = setup();
    p.onStart!(0);
    p.onDone!(0, 500, true);
    p.update([...pool([1, 1]), ...pool([1], "other")]);
    let slow = 0;
    for (let k = 0; k < 200; k++) if (p.pick({ hash: 0 }) === 0) slow++;
    expect(slow).toBe(0);
  });
});
