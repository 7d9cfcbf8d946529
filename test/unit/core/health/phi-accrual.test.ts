import { describe, expect, test } from "bun:test";
import { createPhiAccrualDetector, phiOf } from "../../../../src/core/health/phi-accrual.ts";
import { createFakeClock } from "../../../support/fake-clock.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

// Expected values computed by hand from y = (t - mean) / std, e = exp(-y (1.5976 + 0.070566 y²)),
// phi = -log10(e / (1 + e)) when t > mean, else -log10(1 - 1 / (1 + e)).
const cdf = (phi: number) => 1 - Math.pow(10, -phi);

describe("phi formula", () => {
  test("phi at the mean is log10(2), about 0.301", () => {
    expect(phiOf(1000, 1000, 100)).toBeCloseTo(Math.log10(2), 12);
  });

  test("phi far below the mean is about 0", () => {
    expect(phiOf(0, 1000, 100)).toBeCloseTo(0, 10);
    expect(phiOf(500, 1000, 100)).toBeCloseTo(2.1769e-8, 11);
  });

  test("phi above the mean matches hand-computed values", () => {
    // y = 2: e = exp(-2 * 1.879864) = 0.0232889, phi = -log10(0.0232889 / 1.0232889) = 1.64283
    expect(phiOf(1200, 1000, 100)).toBeCloseTo(1.64283, 4);
    // y = 4: e = exp(-4 * 2.726656) = 1.8333e-5, phi = 4.73669
    expect(phiOf(1400, 1000, 100)).toBeCloseTo(4.73669, 4);
    expect(phiOf(1600, 1000, 100)).toBeCloseTo(10.7826, 3);
    expect(phiOf(1700, 1000, 100)).toBeCloseTo(15.3685, 3);
  });

  test("realistic phi values agree with Akka's expectations within 0.1", () => {
    const expected: [number, number][] = [[0, 0], [500, 0.1], [1000, 0.3], [1200, 1.6], [1400, 4.7], [1600, 10.8], [1700, 15.3]];
    for (const [t, want] of expected) expect(Math.abs(phiOf(t, 1000, 100) - want)).toBeLessThanOrEqual(0.1);
  });

  test("the logistic CDF is a good enough normal CDF", () => {
    const expected: [number, number][] = [[0, 0.5], [6, 0.7257], [15, 0.9332], [20, 0.97725], [25, 0.99379], [35, 0.99977], [-6, 0.2743], [-15, 0.0668]];
    for (const [t, want] of expected) expect(Math.abs(cdf(phiOf(t, 0, 10)) - want)).toBeLessThan(0.001);
    expect(Math.abs(cdf(phiOf(40, 0, 10)) - 0.99997)).toBeLessThan(0.0001);
  });

  test("phi rises monotonically with elapsed time", () => {
    for (let t = 0; t < 40; t++) expect(phiOf(t, 0, 10)).toBeLessThan(phiOf(t + 1, 0, 10));
  });

  test("outliers keep precision and never produce NaN", () => {
    expect(Math.abs(phiOf(10, 0, 1) - 38)).toBeLessThan(1);
    expect(phiOf(-25, 0, 1)).toBeCloseTo(0, 10);
    expect(Number.isNaN(phiOf(1e6, 0, 1))).toBe(false);
  });

  test("a larger std deviation gives a lower phi", () => {
    expect(phiOf(1100, 1000, 500)).toBeLessThan(phiOf(1100, 1000, 100));
  });
});

describe("phi-accrual detector", () => {
  test("phi is 0 and the target available before any heartbeat", () => {
    const fd = createPhiAccrualDetector(createFakeClock());
    expect(fd.phi()).toBe(0);
    expect(fd.isAvailable()).toBe(true);
    expect(fd.isMonitoring).toBe(false);
  });

  test("after one heartbeat phi follows the first estimate (mean 1000, std 250)", () => {
    const clock = createFakeClock();
    const fd = createPhiAccrualDetector(clock);
    fd.heartbeat();
    clock.advance(1000);
    expect(fd.phi()).toBeCloseTo(0.30103, 4); // Akka: 0.3 +- 0.2
    clock.advance(1000);
    expect(fd.phi()).toBeCloseTo(4.73669, 4); // Akka: 4.5 +- 0.3 (y = 4 with std 250)
    clock.advance(1000);
    expect(fd.phi()).toBeGreaterThan(15);
  });

  test("regular heartbeats keep the target available; a long silence makes it unavailable", () => {
    const clock = createFakeClock();
    const fd = createPhiAccrualDetector(clock);
    for (let i = 0; i < 10; i++) {
      fd.heartbeat();
      clock.advance(1000);
    }
    expect(fd.isAvailable()).toBe(true);
    clock.advance(5000);
    expect(fd.isAvailable()).toBe(false);
  });

  test("std deviation is floored at minStdDeviation", () => {
    const clock = createFakeClock();
    const fd = createPhiAccrualDetector(clock, { maxSampleSize: 3 });
    // Three identical 1000 ms intervals fill the window: std 0, floored to 100.
    for (let i = 0; i < 4; i++) {
      fd.heartbeat();
      clock.advance(1000);
    }
    clock.advance(200); // elapsed 1200
    expect(fd.phi()).toBeCloseTo(phiOf(1200, 1000, 100), 10);
  });

  test("the acceptable pause is added to the mean", () => {
    const clock = createFakeClock();
    const fd = createPhiAccrualDetector(clock, { acceptableHeartbeatPauseMs: 3000 });
    fd.heartbeat();
    clock.advance(4000);
    expect(fd.phi()).toBeCloseTo(Math.log10(2), 10);
  });

  test("a heartbeat after an outage is NOT recorded in the history", () => {
    const clock = createFakeClock();
    const fd = createPhiAccrualDetector(clock);
    fd.heartbeat();
    clock.advance(1000);
    fd.heartbeat();
    expect(fd.sampleCount).toBe(3);
    clock.advance(60_000);
    fd.heartbeat();
    expect(fd.sampleCount).toBe(3);
  });

  test("history is bounded by maxSampleSize", () => {
    const clock = createFakeClock();
    const fd = createPhiAccrualDetector(clock, { maxSampleSize: 5 });
    for (let i = 0; i < 20; i++) {
      fd.heartbeat();
      clock.advance(1000);
    }
    expect(fd.sampleCount).toBe(5);
  });

  test("phi rises monotonically with silence", () => {
    const clock = createFakeClock();
    const fd = createPhiAccrualDetector(clock);
    fd.heartbeat();
    let prev = fd.phi();
    for (let i = 0; i < 30; i++) {
      clock.advance(100);
      const p = fd.phi();
      expect(p).toBeGreaterThanOrEqual(prev);
      prev = p;
    }
  });
});

describe("phi-accrual detector under seeded random heartbeats", () => {
  test("phi is monotonic in elapsed time whatever the history", () => {
    const rng = createSeededRng(7);
    for (let run = 0; run < 20; run++) {
      const clock = createFakeClock(0);
      const fd = createPhiAccrualDetector(clock);
      const beats = 5 + Math.floor(rng.next() * 50);
      for (let i = 0; i < beats; i++) {
        fd.heartbeat();
        clock.advance(200 + Math.floor(rng.next() * 1600));
      }
      let prev = fd.phi();
      for (let i = 0; i < 50; i++) {
        clock.advance(50);
        const p = fd.phi();
        expect(p).toBeGreaterThanOrEqual(prev);
        prev = p;
      }
    }
  });
});
