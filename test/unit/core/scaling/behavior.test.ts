// Stabilization windows, rate policies, cooldowns and bounds, following the Kubernetes HPA behavior docs.
import { describe, expect, test } from "bun:test";
import {
  BEHAVIOR_REASON,
  type Behavior,
  createBehaviorState,
  DEFAULT_BEHAVIOR,
  DEFAULT_SCALE_DOWN,
  DEFAULT_SCALE_UP,
  normalizeDesired,
  recordRecommendation,
  recordScaleEvent,
  type ScalingRules,
} from "../../../../src/core/scaling/behavior.ts";

const s = (seconds: number) => seconds * 1000;

function behavior(up: Partial<ScalingRules> = {}, down: Partial<ScalingRules> = {}): Behavior {
  return { scaleUp: { ...DEFAULT_SCALE_UP, ...up }, scaleDown: { ...DEFAULT_SCALE_DOWN, ...down } };
}

/** Runs one evaluation per entry of `times`, applying each result; returns the counts. */
function run(b: Behavior, start: number, desired: number, times: number[], min = 1, max = 1000): number[] {
  const state = createBehaviorState();
  let current = start;
  const seen: number[] = [];
  for (const now of times) {
    const out = normalizeDesired({ desired, current, min, max, now, behavior: b, state });
    recordRecommendation(state, now, desired, b);
    recordScaleEvent(state, now, current, out.desired, b);
    current = out.desired;
    seen.push(current);
  }
  return seen;
}

describe("rate policies", () => {
  const docsDown = behavior({}, {
    stabilizationWindowSeconds: 0,
    policies: [
      { type: "Pods", value: 4, periodSeconds: 60 },
      { type: "Percent", value: 10, periodSeconds: 60 },
    ],
  });

  test("docs example: 80 replicas shrink by 10% (8) per minute, then by 4 once below 40", () => {
    const times = Array.from({ length: 11 }, (_, i) => s(61 * i));
    expect(run(docsDown, 80, 10, times)).toEqual([72, 64, 57, 51, 45, 40, 36, 32, 28, 24, 20]);
  });

  test("a second evaluation inside the same period may not remove more", () => {
    const state = createBehaviorState();
    const first = normalizeDesired({ desired: 10, current: 80, min: 1, max: 100, now: 0, behavior: docsDown, state });
    recordScaleEvent(state, 0, 80, first.desired, docsDown);
    const second = normalizeDesired({ desired: 10, current: first.desired, min: 1, max: 100, now: s(30), behavior: docsDown, state });
    expect(second).toMatchObject({ desired: 72, reason: BEHAVIOR_REASON.scaleDownLimit });
  });

  test("default scale up allows the larger of +4 pods and +100% per 15 s", () => {
    const state = createBehaviorState();
    expect(normalizeDesired({ desired: 20, current: 2, min: 1, max: 100, now: 0, behavior: DEFAULT_BEHAVIOR, state }).desired).toBe(6);
    expect(normalizeDesired({ desired: 50, current: 10, min: 1, max: 100, now: 0, behavior: DEFAULT_BEHAVIOR, state }).desired).toBe(20);
  });

  test("selectPolicy Min takes the policy allowing the smallest change", () => {
    const b = behavior({ selectPolicy: "Min" });
    expect(normalizeDesired({ desired: 50, current: 10, min: 1, max: 100, now: 0, behavior: b, state: createBehaviorState() }).desired).toBe(14);
  });

  test("rises within the period count against a percent policy", () => {
    const b = behavior({ policies: [{ type: "Percent", value: 100, periodSeconds: 60 }] });
    expect(run(b, 2, 10, [0, s(30), s(61)])).toEqual([4, 4, 8]);
  });

  test("selectPolicy Disabled forbids scaling down", () => {
    const out = normalizeDesired({ desired: 1, current: 5, min: 1, max: 10, now: 0, behavior: behavior({}, { selectPolicy: "Disabled" }), state: createBehaviorState() });
    expect(out).toMatchObject({ desired: 5, reason: BEHAVIOR_REASON.scaleDownLimit });
  });

  test("the contrast: with the default scale-down rules the same call does shrink (after the window)", () => {
    const out = normalizeDesired({ desired: 1, current: 5, min: 1, max: 10, now: 0, behavior: DEFAULT_BEHAVIOR, state: createBehaviorState() });
    expect(out.desired).toBe(1);
  });
});

describe("stabilization windows", () => {
  test("scale down uses the highest recommendation of the last 300 s", () => {
    const state = createBehaviorState();
    recordRecommendation(state, 0, 10, DEFAULT_BEHAVIOR);
    recordRecommendation(state, s(60), 5, DEFAULT_BEHAVIOR);
    const held = normalizeDesired({ desired: 4, current: 10, min: 1, max: 20, now: s(120), behavior: DEFAULT_BEHAVIOR, state });
    expect(held).toMatchObject({ desired: 10, stabilizedReason: BEHAVIOR_REASON.scaleDownStabilized });
    const later = normalizeDesired({ desired: 4, current: 10, min: 1, max: 20, now: s(301), behavior: DEFAULT_BEHAVIOR, state });
    expect(later.desired).toBe(5);
  });

  test("scale up uses the lowest recommendation of its window", () => {
    const b = behavior({ stabilizationWindowSeconds: 60 });
    const state = createBehaviorState();
    recordRecommendation(state, 0, 8, b);
    recordRecommendation(state, s(30), 12, b);
    const out = normalizeDesired({ desired: 15, current: 5, min: 1, max: 20, now: s(45), behavior: b, state });
    expect(out).toMatchObject({ desired: 8, stabilized: 8, stabilizedReason: BEHAVIOR_REASON.scaleUpStabilized });
  });

  test("a flapping proposal does not move the count inside the window", () => {
    const b = behavior({ stabilizationWindowSeconds: 0 }, { stabilizationWindowSeconds: 60 });
    const state = createBehaviorState();
    let current = 6;
    for (let t = 0; t < 50; t += 10) {
      const desired = t % 20 === 0 ? 6 : 3;
      const out = normalizeDesired({ desired, current, min: 1, max: 20, now: s(t), behavior: b, state });
      recordRecommendation(state, s(t), desired, b);
      current = out.desired;
      expect(current).toBe(6);
    }
  });
});

describe("cooldowns and bounds", () => {
  test("a scale-up cooldown holds further rises after a change", () => {
    const b = behavior({ cooldownSeconds: 60 });
    expect(run(b, 2, 8, [0, s(30), s(61)])).toEqual([6, 6, 8]);
  });

  test("a scale-down cooldown holds falls but not rises", () => {
    const b = behavior({}, { stabilizationWindowSeconds: 0, cooldownSeconds: 120 });
    const state = createBehaviorState();
    recordScaleEvent(state, 0, 4, 5, b);
    expect(normalizeDesired({ desired: 2, current: 5, min: 1, max: 10, now: s(60), behavior: b, state })).toMatchObject({ desired: 5, reason: BEHAVIOR_REASON.cooldownDown });
    expect(normalizeDesired({ desired: 7, current: 5, min: 1, max: 10, now: s(60), behavior: b, state }).desired).toBe(7);
  });

  test("max and min bound the result with their reasons", () => {
    const state = createBehaviorState();
    expect(normalizeDesired({ desired: 15, current: 8, min: 1, max: 10, now: 0, behavior: DEFAULT_BEHAVIOR, state })).toMatchObject({ desired: 10, reason: BEHAVIOR_REASON.tooMany });
    expect(normalizeDesired({ desired: 1, current: 5, min: 3, max: 10, now: 0, behavior: DEFAULT_BEHAVIOR, state })).toMatchObject({ desired: 3, reason: BEHAVIOR_REASON.tooFew });
  });

  test("min 0 allows shrinking to zero", () => {
    expect(normalizeDesired({ desired: 0, current: 3, min: 0, max: 10, now: 0, behavior: DEFAULT_BEHAVIOR, state: createBehaviorState() }).desired).toBe(0);
  });

  test("old recommendations are pruned and equal runs kept as one entry", () => {
    const state = createBehaviorState();
    for (let t = 0; t < 1000; t++) recordRecommendation(state, s(t), 3, DEFAULT_BEHAVIOR);
    expect(state.recommendations.length).toBe(1);
    for (let t = 1000; t < 2000; t++) recordRecommendation(state, s(t), t % 2, DEFAULT_BEHAVIOR);
    expect(state.recommendations.length).toBe(300);
  });
});
