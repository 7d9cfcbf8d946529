// One evaluation end to end: which rule wins, the forecast blend, scale to zero, bounds and the record.
import { describe, expect, test } from "bun:test";
import { createBehaviorState } from "../../../../src/core/scaling/behavior.ts";
import { commitDecision, decide, type DecisionInput, type MetricForecast, type MetricInput } from "../../../../src/core/scaling/decide.ts";
import type { ReplicaReading } from "../../../../src/core/scaling/hpa.ts";
import { type ScalePolicy, validatePolicy } from "../../../../src/core/scaling/policy.ts";

function policy(raw: Record<string, unknown>): ScalePolicy {
  const v = validatePolicy({ min: 1, max: 10, ...raw });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.policy;
}

const ready = (values: number[], request?: number): ReplicaReading[] => values.map((value) => ({ phase: "ready", value, request }));
const cpu = (values: number[]): MetricInput => ({ name: "cpu", readings: ready(values, 1000) });
const rps = (values: number[], demand?: number): MetricInput => ({ name: "rps_per_replica", readings: ready(values), demand });

function run(p: ScalePolicy, current: number, metrics: MetricInput[], extra: Partial<DecisionInput> = {}) {
  return decide({ app: "web", now: 1_000_000, policy: p, currentReplicas: current, metrics, state: createBehaviorState(), ...extra });
}

const forecastOf = (mean: number[]): MetricForecast => ({
  metric: "rps_per_replica",
  outcome: { ok: true, method: "holt-winters", mean, lower: mean, upper: mean, residualStd: 1, mape: 5 },
});

describe("reactive rules", () => {
  test("cpu at twice its target doubles the app and names the metric", () => {
    const d = run(policy({ metrics: [{ name: "cpu", target: 50 }] }), 2, [cpu([1000, 1000])]);
    expect(d).toMatchObject({ desired: 4, action: "scale-up", rule: "metric:cpu", reactive: 4, dryRun: false });
    expect(d.reason).toContain("cpu 100% vs target 50% (ratio 2)");
  });

  test("the largest of several metrics wins", () => {
    const p = policy({ metrics: [{ name: "cpu", target: 50 }, { name: "rps_per_replica", target: 100 }] });
    const d = run(p, 2, [cpu([500, 500]), rps([300, 300])]);
    expect(d).toMatchObject({ desired: 6, rule: "metric:rps_per_replica" });
    expect(d.perMetric.map((m) => m.proposal?.ok && m.proposal.replicas)).toEqual([2, 6]);
  });

  test("inside the tolerance nothing happens and the rule says so", () => {
    const d = run(policy({ metrics: [{ name: "rps_per_replica", target: 100 }] }), 3, [rps([105, 95, 102])]);
    expect(d).toMatchObject({ desired: 3, action: "none", rule: "tolerance" });
  });

  test("a metric without readings blocks a scale down", () => {
    const p = policy({ metrics: [{ name: "cpu", target: 50 }, { name: "rps_per_replica", target: 100 }] });
    const d = run(p, 4, [cpu([100, 100, 100, 100])]);
    expect(d).toMatchObject({ desired: 4, action: "none", rule: "invalid-metrics", recommendation: null });
    expect(d.reason).toContain("rps_per_replica");
  });

  test("NaN and negative readings are skipped with a recorded reason", () => {
    const d = run(policy({ metrics: [{ name: "rps_per_replica", target: 100 }] }), 3, [rps([400, Number.NaN, -3])]);
    expect(d.reason).toContain("2 reading(s) skipped (NaN or negative)");
    expect(d.perMetric[0].proposal.counts.invalid).toBe(2);
    expect(d.action).toBe("scale-up");
  });
});

describe("forecast blend", () => {
  const p = policy({ metrics: [{ name: "rps_per_replica", target: 100 }], predictive: { enabled: true, weight: 0.5 } });

  test("a higher forecast brings the scale up forward, blended by weight", () => {
    // reactive: 2 replicas at 100 -> 2; forecast peak 1000 rps -> 10; 2 + ceil(0.5 * 8) = 6
    const d = run(p, 2, [rps([100, 100])], { forecasts: [forecastOf([400, 1000, 800])] });
    expect(d).toMatchObject({ reactive: 2, recommendation: 6, desired: 6, rule: "forecast" });
    expect(d.forecast).toMatchObject({ used: true, recommendation: 10, metric: "rps_per_replica" });
  });

  test("a lower forecast never brings the result below the reactive one", () => {
    const d = run(p, 4, [rps([200, 200, 200, 200])], { forecasts: [forecastOf([100])] });
    expect(d).toMatchObject({ reactive: 8, desired: 8, rule: "metric:rps_per_replica" });
    expect(d.forecast?.used).toBe(false);
  });

  test("the forecast never takes the count above max", () => {
    const d = run(p, 6, [rps([100, 100, 100, 100, 100, 100])], { forecasts: [forecastOf([100_000])] });
    expect(d).toMatchObject({ desired: 10, rule: "bounds" });
  });

  test("weight 0 ignores the forecast", () => {
    const p0 = policy({ metrics: [{ name: "rps_per_replica", target: 100 }], predictive: { enabled: true, weight: 0 } });
    expect(run(p0, 2, [rps([100, 100])], { forecasts: [forecastOf([1000])] }).desired).toBe(2);
  });

  test("an abstaining forecast is recorded with its reason", () => {
    const abstained: MetricForecast = { metric: "rps_per_replica", outcome: { ok: false, method: "holt-winters", reason: "history-too-short", detail: "10 of 576 samples" } };
    const d = run(p, 2, [rps([100, 100])], { forecasts: [abstained] });
    expect(d.forecast).toMatchObject({ used: false, note: "every forecast abstained" });
    expect(d.forecast?.outcomes[0].reason).toContain("history-too-short");
  });
});

describe("zero, bounds, windows and dry run", () => {
  const zeroable = policy({ min: 0, metrics: [{ name: "cpu", target: 50 }, { name: "rps_per_replica", target: 100 }] });

  test("min 0 and no traffic scales to zero even with some cpu use", () => {
    const d = run(zeroable, 2, [cpu([30, 20]), rps([0, 0])]);
    expect(d).toMatchObject({ desired: 0, action: "scale-down", rule: "scale-to-zero" });
  });

  test("the contrast: with min 1 the same idle app keeps one replica", () => {
    const p = policy({ min: 1, metrics: [{ name: "cpu", target: 50 }, { name: "rps_per_replica", target: 100 }] });
    expect(run(p, 2, [cpu([30, 20]), rps([0, 0])]).desired).toBe(1);
  });

  test("from zero, any load means one replica", () => {
    expect(run(zeroable, 0, [rps([], 3)])).toMatchObject({ desired: 1, action: "scale-up", rule: "wake-from-zero" });
    expect(run(zeroable, 0, [rps([], 0)])).toMatchObject({ desired: 0, action: "none" });
  });

  test("a count outside min/max goes straight back inside", () => {
    const p = policy({ min: 2, max: 5, metrics: [{ name: "cpu", target: 50 }] });
    expect(run(p, 8, [cpu([10])])).toMatchObject({ desired: 5, rule: "bounds", action: "scale-down" });
    expect(run(p, 1, [cpu([900])])).toMatchObject({ desired: 2, rule: "bounds", action: "scale-up" });
  });

  test("a recent higher recommendation holds a scale down (stabilization)", () => {
    const p = policy({ metrics: [{ name: "rps_per_replica", target: 100 }] });
    const state = createBehaviorState();
    const first = decide({ app: "web", now: 0, policy: p, currentReplicas: 6, metrics: [rps(Array(6).fill(100))], state });
    commitDecision(state, first, p);
    const later = decide({ app: "web", now: 60_000, policy: p, currentReplicas: 6, metrics: [rps(Array(6).fill(40))], state });
    expect(later).toMatchObject({ reactive: 3, desired: 6, rule: "stabilization", action: "none" });
  });

  test("dry run decides the same but records no scale event", () => {
    const p = policy({ metrics: [{ name: "cpu", target: 50 }], dryRun: true });
    const state = createBehaviorState();
    const d = decide({ app: "web", now: 0, policy: p, currentReplicas: 2, metrics: [cpu([1000, 1000])], state });
    commitDecision(state, d, p);
    expect(d).toMatchObject({ desired: 4, action: "scale-up", dryRun: true });
    expect(state.upEvents.length).toBe(0);
  });
});
