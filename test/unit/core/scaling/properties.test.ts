// Seeded property checks over random inputs: bounds, direction and monotonicity of the scaling math.
import { expect, test } from "bun:test";
import { createBehaviorState, DEFAULT_BEHAVIOR, normalizeDesired, recordRecommendation, recordScaleEvent } from "../../../../src/core/scaling/behavior.ts";
import { computeMetricReplicas, HPA_REASON, type ReplicaPhase, type ReplicaReading } from "../../../../src/core/scaling/hpa.ts";
import { createSeededRng } from "../../../../src/core/time.ts";

const rng = createSeededRng(2024);
const int = (lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));
const PHASES: ReplicaPhase[] = ["ready", "ready", "ready", "unready", "starting", "stopping"];

function randomReadings(n: number): ReplicaReading[] {
  return Array.from({ length: n }, () => ({
    phase: PHASES[int(0, PHASES.length - 1)],
    value: rng.next() < 0.15 ? undefined : int(0, 3000),
    request: 1000,
  }));
}

test("after rebalancing, a proposal never moves against the first-pass direction", () => {
  for (let i = 0; i < 5000; i++) {
    const current = int(1, 30);
    const p = computeMetricReplicas({ currentReplicas: current, readings: randomReadings(int(1, 30)), spec: { kind: "utilization", targetPercent: int(10, 150), ignoreUnready: true } });
    if (!p.ok) continue;
    expect(p.replicas).toBeGreaterThanOrEqual(0);
    if (p.reason !== HPA_REASON.rebalanced) continue;
    if (p.usageRatio > 1) expect(p.replicas).toBeGreaterThanOrEqual(current);
    if (p.usageRatio < 1) expect(p.replicas).toBeLessThanOrEqual(current);
  }
});

test("with every replica ready and reporting, more load never means fewer replicas", () => {
  for (let i = 0; i < 2000; i++) {
    const n = int(1, 20);
    const base = Array.from({ length: n }, () => int(1, 500));
    let previous = -1;
    for (const factor of [0.2, 0.5, 0.85, 0.95, 1, 1.05, 1.2, 2, 5]) {
      const readings = base.map((v) => ({ phase: "ready" as const, value: v * factor }));
      const p = computeMetricReplicas({ currentReplicas: n, readings, spec: { kind: "average", target: 100 } });
      if (!p.ok) throw new Error(p.reason);
      expect(p.replicas).toBeGreaterThanOrEqual(previous);
      previous = p.replicas;
    }
  }
});

test("behavior keeps every result within min and max and within the scale-up rate", () => {
  for (let run = 0; run < 300; run++) {
    const min = int(0, 5);
    const max = int(min + 1, 40);
    const state = createBehaviorState();
    let current = int(min, max);
    for (let step = 0; step < 60; step++) {
      const desired = int(0, 60);
      const out = normalizeDesired({ desired, current, min, max, now: step * 20_000, behavior: DEFAULT_BEHAVIOR, state });
      expect(out.desired).toBeGreaterThanOrEqual(min);
      expect(out.desired).toBeLessThanOrEqual(max);
      expect(out.desired).toBeLessThanOrEqual(Math.max(current + 4, current * 2));
      recordRecommendation(state, step * 20_000, desired, DEFAULT_BEHAVIOR);
      recordScaleEvent(state, step * 20_000, current, out.desired, DEFAULT_BEHAVIOR);
      current = out.desired;
    }
  }
});
