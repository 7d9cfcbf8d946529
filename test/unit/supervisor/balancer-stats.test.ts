import { describe, expect, test } from "bun:test";
import { bucketOf } from "../../../src/balancer/latency-histogram.ts";
import { ProxyStats } from "../../../src/balancer/proxy-stats.ts";
import { EXPORT_BOUNDS_MS, merge, toExportHistogram } from "../../../src/supervisor/balancer-stats.ts";

function worker(latenciesMs: number[], status = 200) {
  const s = new ProxyStats();
  for (const ms of latenciesMs) {
    s.requests++;
    s.response(status);
    s.latency.recordMs(ms);
  }
  return s.snapshot();
}

describe("merging balancer workers' stats", () => {
  test("counters add up and quantiles come from the combined histogram, not an average of quantiles", () => {
    // Worker A is fast, worker B slow: the merged p99 must be B's tail, which averaging p99s would hide.
    const a = worker(Array.from({ length: 99 }, () => 1));
    const b = worker([400], 503);
    const m = merge([a, b]);
    expect(m.requests).toBe(100);
    expect(m.responses["2xx"]).toBe(99);
    expect(m.responses["5xx"]).toBe(1);
    expect(m.latency.count).toBe(100);
    expect(m.latency.p50Ms).toBeLessThan(2);
    expect(m.latency.p99Ms).toBeLessThan(2);
    const m2 = merge([worker(Array.from({ length: 98 }, () => 1)), worker([400, 400])]);
    expect(m2.latency.p99Ms).toBeGreaterThanOrEqual(400);
  });

  test("merging nothing gives zeros", () => {
    const m = merge([]);
    expect(m.requests).toBe(0);
    expect(m.latency).toEqual({ count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0 });
  });

  test("the export histogram keeps every observation, each in the first bound at or above its bucket", () => {
    const m = merge([worker([0.5, 3, 3, 70, 20_000])]);
    const h = toExportHistogram(m);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(5);
    expect(h.count).toBe(5);
    expect(h.counts[EXPORT_BOUNDS_MS.indexOf(1)]).toBe(1);
    expect(h.counts[EXPORT_BOUNDS_MS.indexOf(5)]).toBe(2);
    expect(h.counts[EXPORT_BOUNDS_MS.indexOf(100)]).toBe(1);
    expect(h.counts[EXPORT_BOUNDS_MS.length]).toBe(1); // +Inf
    expect(bucketOf(3000)).toBeGreaterThan(0);
  });
});
