// Replica calculation for one metric, checked against the Kubernetes docs and replica calculator cases.
import { describe, expect, test } from "bun:test";
import { computeMetricReplicas, HPA_REASON, type ReplicaPhase, type ReplicaReading } from "../../../../src/core/scaling/hpa.ts";

const cpu = (targetPercent: number) => ({ kind: "utilization" as const, targetPercent, ignoreUnready: true });
const memory = (targetPercent: number) => ({ kind: "utilization" as const, targetPercent, ignoreUnready: false });
const avg = (target: number) => ({ kind: "average" as const, target });

/** Replicas of 1000m request each; `levels[i]` is replica i's usage, absent when the list is shorter. */
function pods(levels: number[], count = levels.length, phases: ReplicaPhase[] = [], request = 1000): ReplicaReading[] {
  return Array.from({ length: count }, (_, i) => ({ phase: phases[i] ?? "ready", value: levels[i], request }));
}

function replicas(input: Parameters<typeof computeMetricReplicas>[0]): number {
  const p = computeMetricReplicas(input);
  if (!p.ok) throw new Error(`no proposal: ${p.reason}`);
  return p.replicas;
}

describe("documented examples (average value)", () => {
  test("200m against a 100m target doubles the replicas", () => {
    expect(replicas({ currentReplicas: 3, readings: pods([200, 200, 200]), spec: avg(100) })).toBe(6);
  });
  test("50m against a 100m target halves the replicas", () => {
    expect(replicas({ currentReplicas: 4, readings: pods([50, 50, 50, 50]), spec: avg(100) })).toBe(2);
  });
  test("a ratio within the 0.1 tolerance keeps the current count", () => {
    const p = computeMetricReplicas({ currentReplicas: 3, readings: pods([20000, 21000, 21000]), spec: avg(20000) });
    expect(p.ok && p.replicas).toBe(3);
    expect(p.reason).toBe(HPA_REASON.withinTolerance);
  });
  test("a ratio just outside the tolerance does scale", () => {
    expect(replicas({ currentReplicas: 10, readings: pods(Array(10).fill(112)), spec: avg(100) })).toBe(12);
  });
});

describe("resource utilization (Kubernetes replica_calculator cases)", () => {
  const cases: Array<[string, number, number[], number, ReplicaPhase[], number, number, number]> = [
    // name, current, levels, count, phases, target%, expected replicas, expected utilization
    ["scale up", 3, [300, 500, 700], 3, [], 30, 5, 50],
    ["scale up with one unready cpu replica scales less", 3, [300, 500, 700], 3, ["unready"], 30, 4, 60],
    ["unready replicas that would flip the direction mean no change", 3, [400, 500, 700], 3, ["ready", "unready", "unready"], 30, 3, 40],
    ["scale down", 5, [100, 300, 500, 250, 250], 5, [], 50, 3, 28],
    ["scale down multiplies the ratio by the ready count", 5, [100, 300, 500, 250, 250], 5, ["ready", "ready", "ready", "unready", "unready"], 50, 2, 30],
    ["missing metrics count as 100% of request on a scale down", 4, [400, 95], 4, [], 100, 3, 24],
    ["missing metrics at exactly the target: no change", 2, [1000], 2, [], 100, 2, 100],
    ["missing metrics count as the target, not 100%, when the target is above 100% (Kubernetes 1.26+)", 4, [400, 400], 4, [], 200, 3, 40],
    ["missing metrics count as 100%, not the target, when the target is below 100% (contrast)", 4, [100, 100, 100], 4, [], 50, 3, 10],
    ["missing metrics above target flip back: no change", 2, [1900], 2, [], 100, 2, 190],
    ["missing metrics below target flip up: no change", 2, [600], 2, [], 100, 2, 60],
    ["missing plus unready inside tolerance then flipping: no change", 3, [100, 450], 3, ["unready"], 50, 3, 45],
    ["missing plus unready on a scale up count as zero", 3, [100, 2000], 3, ["unready"], 50, 4, 200],
    ["missing on a scale down with an unready replica left out", 4, [100, 100, 100], 4, ["unready"], 50, 3, 10],
    ["rolling update surge: a count against the direction keeps current", 2, [100, 100], 3, [], 50, 2, 10],
  ];
  for (const [name, current, levels, count, phases, target, expected, utilization] of cases) {
    test(`${name}: ${current} -> ${expected}`, () => {
      const p = computeMetricReplicas({ currentReplicas: current, readings: pods(levels, count, phases), spec: cpu(target) });
      expect(p.ok).toBe(true);
      if (!p.ok) return;
      expect(p.replicas).toBe(expected);
      expect(p.current).toBe(utilization);
    });
  }

  test("utilization is truncated to whole percent before the ratio", () => {
    const readings: ReplicaReading[] = [
      { phase: "ready", value: 1010, request: 900 },
      { phase: "ready", value: 1030, request: 1000 },
      { phase: "ready", value: 1020, request: 1100 },
    ];
    const p = computeMetricReplicas({ currentReplicas: 3, readings, spec: cpu(100) });
    expect(p.ok && p.current).toBe(102);
    expect(p.ok && p.replicas).toBe(3);
  });

  test("stopping replicas are dropped entirely", () => {
    const p = computeMetricReplicas({
      currentReplicas: 5,
      readings: [...pods([100, 300, 500, 250, 250]), { phase: "stopping", request: 1000 }, { phase: "stopping", request: 1000 }],
      spec: cpu(50),
    });
    expect(p.ok && p.replicas).toBe(3);
  });

  test("an unready replica counts as ready for memory (only cpu ignores unready replicas)", () => {
    expect(replicas({ currentReplicas: 3, readings: pods([300, 500, 700], 3, ["unready"]), spec: memory(30) })).toBe(5);
  });

  test("a starting replica is unready for every metric", () => {
    expect(replicas({ currentReplicas: 3, readings: pods([300, 500, 700], 3, ["starting"]), spec: memory(30) })).toBe(4);
    expect(replicas({ currentReplicas: 3, readings: pods([30, 50, 70], 3, ["starting"]), spec: avg(30) })).toBe(4);
  });

  test("a replica without a request makes the metric invalid", () => {
    const p = computeMetricReplicas({ currentReplicas: 2, readings: [{ phase: "ready", value: 5 }], spec: cpu(50) });
    expect(p).toMatchObject({ ok: false, reason: HPA_REASON.missingRequest });
  });

  test("no readings from ready replicas makes the metric invalid", () => {
    const p = computeMetricReplicas({ currentReplicas: 3, readings: pods([], 3), spec: cpu(50) });
    expect(p).toMatchObject({ ok: false, reason: HPA_REASON.noReadyMetrics, counts: { missing: 3 } });
  });
});

describe("plain averages with missing and invalid readings", () => {
  test("NaN and negative readings count as missing and are reported", () => {
    const p = computeMetricReplicas({ currentReplicas: 4, readings: pods([10, 10, Number.NaN, -1]), spec: avg(100) });
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.counts).toEqual({ ready: 2, missing: 2, unready: 0, invalid: 2 });
    // 0.1 first pass; missing count as the target: (20 + 200) / 4 = 55 -> 0.55 * 4 = 2.2 -> 3
    expect(p.replicas).toBe(3);
  });

  test("missing readings count as zero on a scale up", () => {
    // 300/1 -> 3.0; with one missing at 0: 150 -> 1.5 * 2 = 3
    expect(replicas({ currentReplicas: 2, readings: pods([300], 2), spec: avg(100) })).toBe(3);
  });

  test("per-direction tolerance: a wide scale-down tolerance holds a 30% drop", () => {
    const readings = pods([70, 70, 70, 70]);
    expect(replicas({ currentReplicas: 4, readings, spec: avg(100), tolerance: { up: 0.1, down: 0.35 } })).toBe(4);
    expect(replicas({ currentReplicas: 4, readings, spec: avg(100), tolerance: { up: 0.1, down: 0.1 } })).toBe(3);
  });

  test("per-direction tolerance: a zero scale-up tolerance reacts to a 5% rise", () => {
    const readings = pods(Array(20).fill(105));
    expect(replicas({ currentReplicas: 20, readings, spec: avg(100), tolerance: { up: 0, down: 0.1 } })).toBe(21);
    expect(replicas({ currentReplicas: 20, readings, spec: avg(100) })).toBe(20);
  });

  test("all-zero load proposes zero replicas", () => {
    expect(replicas({ currentReplicas: 3, readings: pods([0, 0, 0]), spec: avg(10) })).toBe(0);
  });
});
