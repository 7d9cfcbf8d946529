// Kubernetes HPA behavior: stabilization windows, rate policies and bounds, plus Polis' per-direction cooldowns.
//
// `normalizeDesired` is pure: it reads the state and returns the count to set with its reason.
// The caller then records what happened with `recordRecommendation` (every evaluation) and
// `recordScaleEvent` (every applied change); those two mutate the state in place because it is
// per-app and hot (one call per app per tick).
//
// Order (Kubernetes normalizeDesiredReplicasWithBehaviors, cooldown inserted between):
//   1. stabilization: the lowest recommendation within the scale-up window caps a rise, the
//      highest within the scale-down window floors a fall; the result stays between them and
//      otherwise at the current count.
//   2. cooldown (Polis): no scale-up until `scaleUp.cooldownSeconds` after the last change in either
//      direction; the same for scale-down with its own figure.
//   3. rate: each policy proposes a limit from the replica count at the start of its period
//      (current minus rises plus falls within it); selectPolicy Max takes the policy allowing the
//      biggest change, Min the smallest, Disabled forbids moving that way. Then min/max.
// Times are monotonic milliseconds (`now`); windows and periods are seconds, as in Kubernetes.

export type RatePolicyType = "Pods" | "Percent";
export type SelectPolicy = "Max" | "Min" | "Disabled";

export interface RatePolicy {
  readonly type: RatePolicyType;
  readonly value: number;
  readonly periodSeconds: number;
}

export interface ScalingRules {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: SelectPolicy;
  readonly policies: readonly RatePolicy[];
  /** Kubernetes 1.33 per-direction tolerance around a usage ratio of 1. */
  readonly tolerance: number;
  /** Polis: seconds after the last change (either direction) before moving this way. */
  readonly cooldownSeconds: number;
}

export interface Behavior {
  readonly scaleUp: ScalingRules;
  readonly scaleDown: ScalingRules;
}

/** Kubernetes defaults: grow by max(100%, 4 pods) per 15 s at once; shrink by up to 100% per 15 s after a 300 s window. */
export const DEFAULT_SCALE_UP: ScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ],
  tolerance: 0.1,
  cooldownSeconds: 0,
};

export const DEFAULT_SCALE_DOWN: ScalingRules = {
  stabilizationWindowSeconds: 300,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
  tolerance: 0.1,
  cooldownSeconds: 0,
};

export const DEFAULT_BEHAVIOR: Behavior = { scaleUp: DEFAULT_SCALE_UP, scaleDown: DEFAULT_SCALE_DOWN };

export interface TimedValue {
  at: number;
  value: number;
}

export interface BehaviorState {
  readonly recommendations: TimedValue[];
  readonly upEvents: TimedValue[];
  readonly downEvents: TimedValue[];
  lastScaleAt: number | null;
}

export function createBehaviorState(): BehaviorState {
  return { recommendations: [], upEvents: [], downEvents: [], lastScaleAt: null };
}

export const BEHAVIOR_REASON = {
  withinRange: "desired-within-range",
  scaleUpStabilized: "scale-up-stabilized",
  scaleDownStabilized: "scale-down-stabilized",
  cooldownUp: "scale-up-cooldown",
  cooldownDown: "scale-down-cooldown",
  scaleUpLimit: "scale-up-limit",
  scaleDownLimit: "scale-down-limit",
  tooMany: "too-many-replicas",
  tooFew: "too-few-replicas",
} as const;

export type BehaviorReason = (typeof BEHAVIOR_REASON)[keyof typeof BEHAVIOR_REASON];

export interface NormalizeInput {
  readonly desired: number;
  readonly current: number;
  readonly min: number;
  readonly max: number;
  readonly now: number;
  readonly behavior: Behavior;
  readonly state: BehaviorState;
}

export interface Normalized {
  /** The count to set. */
  readonly desired: number;
  /** After stabilization, before cooldown, rate and bounds. */
  readonly stabilized: number;
  readonly reason: BehaviorReason;
  /** The stabilization changed the proposal. */
  readonly stabilizedReason: BehaviorReason | null;
}

function changeWithin(events: readonly TimedValue[], periodSeconds: number, now: number): number {
  const cutoff = now - periodSeconds * 1000;
  let sum = 0;
  for (const e of events) if (e.at > cutoff) sum += e.value;
  return sum;
}

export function stabilize(desired: number, current: number, now: number, behavior: Behavior, state: BehaviorState): number {
  const upCutoff = now - behavior.scaleUp.stabilizationWindowSeconds * 1000;
  const downCutoff = now - behavior.scaleDown.stabilizationWindowSeconds * 1000;
  let up = desired;
  let down = desired;
  for (const r of state.recommendations) {
    if (r.at > upCutoff && r.value < up) up = r.value;
    if (r.at > downCutoff && r.value > down) down = r.value;
  }
  let result = current;
  if (result < up) result = up;
  if (result > down) result = down;
  return result;
}

export function scaleUpLimit(current: number, now: number, rules: ScalingRules, state: BehaviorState): number {
  if (rules.selectPolicy === "Disabled") return current;
  const pickMin = rules.selectPolicy === "Min";
  let result = pickMin ? Infinity : -Infinity;
  for (const p of rules.policies) {
    const start = current - changeWithin(state.upEvents, p.periodSeconds, now) + changeWithin(state.downEvents, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = pickMin ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

export function scaleDownLimit(current: number, now: number, rules: ScalingRules, state: BehaviorState): number {
  if (rules.selectPolicy === "Disabled") return current;
  // Max means "the policy allowing the biggest change", i.e. the lowest floor.
  const pickLowest = rules.selectPolicy === "Max";
  let result = pickLowest ? Infinity : -Infinity;
  for (const p of rules.policies) {
    const start = current - changeWithin(state.upEvents, p.periodSeconds, now) + changeWithin(state.downEvents, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = pickLowest ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

function inCooldown(rules: ScalingRules, now: number, state: BehaviorState): boolean {
  return state.lastScaleAt !== null && rules.cooldownSeconds > 0 && now - state.lastScaleAt < rules.cooldownSeconds * 1000;
}

export function normalizeDesired(input: NormalizeInput): Normalized {
  const { current, min, max, now, behavior, state } = input;
  const stabilized = stabilize(input.desired, current, now, behavior, state);
  const stabilizedReason =
    stabilized < input.desired ? BEHAVIOR_REASON.scaleUpStabilized : stabilized > input.desired ? BEHAVIOR_REASON.scaleDownStabilized : null;
  const out = (desired: number, reason: BehaviorReason): Normalized => ({ desired, stabilized, reason, stabilizedReason });

  if (stabilized > current) {
    if (inCooldown(behavior.scaleUp, now, state)) return out(current, BEHAVIOR_REASON.cooldownUp);
    const limit = Math.max(current, scaleUpLimit(current, now, behavior.scaleUp, state));
    const allowed = Math.min(max, limit);
    const reason = max > limit ? BEHAVIOR_REASON.scaleUpLimit : BEHAVIOR_REASON.tooMany;
    if (stabilized > allowed) return out(allowed, reason);
  } else if (stabilized < current) {
    if (inCooldown(behavior.scaleDown, now, state)) return out(current, BEHAVIOR_REASON.cooldownDown);
    const limit = Math.min(current, scaleDownLimit(current, now, behavior.scaleDown, state));
    const allowed = Math.max(min, limit);
    const reason = min < limit ? BEHAVIOR_REASON.scaleDownLimit : BEHAVIOR_REASON.tooFew;
    if (stabilized < allowed) return out(allowed, reason);
  }
  return out(stabilized, stabilizedReason ?? BEHAVIOR_REASON.withinRange);
}

function longestPeriodMs(behavior: Behavior): number {
  let longest = 0;
  for (const p of behavior.scaleUp.policies) longest = Math.max(longest, p.periodSeconds);
  for (const p of behavior.scaleDown.policies) longest = Math.max(longest, p.periodSeconds);
  return longest * 1000;
}

function prune(list: TimedValue[], cutoff: number): void {
  let drop = 0;
  while (drop < list.length && list[drop].at <= cutoff) drop++;
  if (drop > 0) list.splice(0, drop);
}

/** Remember this evaluation's proposal (before stabilization) for the windows; drops what no window can see. */
export function recordRecommendation(state: BehaviorState, now: number, desired: number, behavior: Behavior): void {
  const windowMs = Math.max(behavior.scaleUp.stabilizationWindowSeconds, behavior.scaleDown.stabilizationWindowSeconds) * 1000;
  const list = state.recommendations;
  prune(list, now - windowMs);
  if (windowMs === 0) return;
  // A run of equal recommendations is kept as its latest one: for "is this value inside the
  // window" the latest occurrence decides, so this changes no result and keeps a steady app's
  // list at one entry instead of one per evaluation.
  const last = list[list.length - 1];
  if (last !== undefined && last.value === desired) last.at = now;
  else list.push({ at: now, value: desired });
}

/** Remember an applied change for the rate policies and cooldowns. */
export function recordScaleEvent(state: BehaviorState, now: number, from: number, to: number, behavior: Behavior): void {
  const cutoff = now - longestPeriodMs(behavior);
  prune(state.upEvents, cutoff);
  prune(state.downEvents, cutoff);
  if (to > from) state.upEvents.push({ at: now, value: to - from });
  else if (to < from) state.downEvents.push({ at: now, value: from - to });
  else return;
  state.lastScaleAt = now;
}
