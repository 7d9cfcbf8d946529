import { describe, expect, test } from "bun:test";
import type { Reason } from "../../../src/core/supervision/restart-policy.ts";
import { createMetricStore } from "../../../src/telemetry/metrics-store.ts";
import { httpStats } from "./feed-all.ts";

const make = () => createMetricStore({ now: () => 1000, expireAfterMs: 0, cpuCount: 4 });
const only = <T>(m: ReadonlyMap<string, T>): T => {
  expect(m.size).toBe(1);
  return [...m.values()][0];
};

describe("metric store", () => {
  test("bucket counts are added per bucket, bounds converted from ms to s", () => {
    const s = make();
    s.proxyStats(httpStats("e"));
    s.proxyStats(httpStats("e"));
    const h = only(s.endpoints).latency;
    expect(h?.boundaries).toEqual([0.005, 0.01, 0.05, 0.1]);
    expect(h?.counts).toEqual([8, 6, 4, 2, 0]);
    expect(h?.count).toBe(20);
  });

  test("changed bucket bounds restart the histogram instead of mixing layouts", () => {
    const s = make();
    s.proxyStats(httpStats("e"));
    s.proxyStats(httpStats("e", { latency: { bounds: [1, 2], counts: [1, 1, 1], sum: 5, count: 3 } }));
    const h = only(s.endpoints).latency;
    expect(h?.boundaries).toEqual([0.001, 0.002]);
    expect(h?.counts).toEqual([1, 1, 1]);
  });

  test("a latency report whose counts do not fit its bounds is ignored, while its counters still count", () => {
    const s = make();
    s.proxyStats(httpStats("e", { latency: { bounds: [1, 2], counts: [1, 1], sum: 5, count: 2 } }));
    s.proxyStats(httpStats("f", { latency: { bounds: [2, 1], counts: [1, 1, 1], sum: 5, count: 3 } }));
    for (const e of s.endpoints.values()) {
      expect(e.latency).toBeUndefined();
      expect(e.requests).toBe(10);
    }
  });

  test("negative and NaN deltas count as zero", () => {
    const s = make();
    s.proxyStats(httpStats("e", { requests: -5, errors: Number.NaN, bytesIn: -1 }));
    const e = only(s.endpoints);
    expect([e.requests, e.errors, e.bytes.in.value]).toEqual([0, 0, 0]);
  });

  test("cpu percent of one CPU becomes a fraction of all host CPUs", () => {
    const s = make();
    s.procStats({ app: "a", replica: "r", pid: 1, cpuPercent: 200, rssBytes: 5 });
    expect(only(s.replicas).cpu).toBe(0.5);
  });

  test("restart reasons per app are capped so a misbehaving caller cannot grow series without bound", () => {
    const s = make();
    for (let i = 0; i < 100; i++) s.restart("a", `reason-${i}` as Reason); // not a Reason: what a bug elsewhere could send
    expect(only(s.apps).restarts.size).toBe(32);
  });

  test("forget with a record matches only entities carrying every given label", () => {
    const s = make();
    s.procStats({ app: "a", replica: "1", pid: 1, cpuPercent: 1, rssBytes: 1 });
    s.procStats({ app: "b", replica: "1", pid: 2, cpuPercent: 1, rssBytes: 1 });
    expect(s.forget("replica", { app: "a", replica: "1" })).toBe(1);
    expect([...s.replicas.values()].map((r) => r.attrs.app)).toEqual(["b"]);
  });
});
