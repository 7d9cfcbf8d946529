import { describe, expect, test } from "bun:test";
import { createHistory } from "../../../../src/core/health/history.ts";

describe("history", () => {
  test("keeps only the last N results, oldest first", () => {
    const h = createHistory({ size: 3 });
    for (let i = 0; i < 5; i++) h.add({ at: i, status: "passing", latencyMs: i, output: "" });
    expect(h.entries().map((e) => e.at)).toEqual([2, 3, 4]);
    expect(h.last?.at).toBe(4);
  });

  test("truncates output to the configured number of characters", () => {
    const h = createHistory({ outputChars: 4 });
    h.add({ at: 0, status: "passing", latencyMs: 1, output: "abcdefgh" });
    expect(h.entries()[0].output).toBe("abcd");
  });

  test("summary counts time in each state between results and up to now", () => {
    const h = createHistory();
    h.add({ at: 0, status: "passing", latencyMs: 10, output: "" });
    h.add({ at: 3000, status: "critical", latencyMs: 30, output: "" });
    h.add({ at: 4000, status: "warning", latencyMs: 20, output: "" });
    const s = h.summary(5000);
    expect(s.timeInStateMs).toEqual({ passing: 3000, warning: 1000, critical: 1000 });
    expect(s.uptimePercent).toBeCloseTo(80, 10);
    expect(s.meanLatencyMs).toBeCloseTo(20, 10);
    expect(s.count).toBe(3);
  });

  test("p95 latency is the nearest-rank 95th percentile", () => {
    const h = createHistory();
    for (let i = 1; i <= 100; i++) h.add({ at: i, status: "passing", latencyMs: i, output: "" });
    expect(h.summary(100).p95LatencyMs).toBe(95);
  });

  test("an empty history summarises to zeros", () => {
    const s = createHistory().summary(0);
    expect(s).toEqual({ count: 0, uptimePercent: 0, meanLatencyMs: 0, p95LatencyMs: 0, timeInStateMs: { passing: 0, warning: 0, critical: 0 } });
  });
});
