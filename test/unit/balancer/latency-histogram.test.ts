import { describe, expect, test } from "bun:test";
import { bucketOf, bucketUpperUs, HISTOGRAM_BUCKETS, LatencyHistogram } from "../../../src/balancer/latency-histogram.ts";
import { createSeededRng } from "../../../src/core/time.ts";

describe("latency histogram", () => {
  test("every value lands in a bucket whose upper bound is within 12.5% above it", () => {
    for (let us = 1; us < 1e9; us = Math.ceil(us * 1.07)) {
      const b = bucketOf(us);
      expect(b).toBeLessThan(HISTOGRAM_BUCKETS);
      expect(bucketUpperUs(b)).toBeGreaterThan(us);
      if (us >= 16) expect(bucketUpperUs(b)).toBeLessThanOrEqual(us * 1.125 + 1);
    }
  });

  test("quantiles of a seeded sample match the exact ones within the bucket width", () => {
    const rng = createSeededRng(7);
    const h = new LatencyHistogram();
    const xs: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.exp(rng.next() * 6) / 10; // 0.1 ms .. 40 ms, log-uniform
      xs.push(ms);
      h.recordMs(ms);
    }
    xs.sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = xs[Math.ceil(q * xs.length) - 1];
      const got = h.quantileMs(q);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got).toBeLessThanOrEqual(exact * 1.13);
    }
  });

  test("reset empties it", () => {
    const h = new LatencyHistogram();
    h.recordMs(3);
    h.reset();
    expect(h.total).toBe(0);
    expect(h.quantileMs(0.99)).toBe(0);
  });
});
