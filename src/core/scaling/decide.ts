// One scaling evaluation of one app: metric proposals, forecast blend, behavior and bounds, explained in a record.
//
// Order: bounds first (a count outside min/max goes straight back inside, as Kubernetes does);
// from zero, any load wakes the app to 1; then one HPA proposal per metric, the largest wins
// (an invalid metric only allows growth); with min 0 and every load metric idle the proposal is
// 0; the forecast may raise the proposal (blended by `predictive.weight`, never lowering it);
// then the behavior (stabilization, cooldown, rate, min/max). Pure: `now` and the behavior
// state come in; `commitDecision` afterwards records what the windows and rate policies need.
import { type BehaviorReason, BEHAVIOR_REASON, type BehaviorState, normalizeDesired, recordRecommendation, recordScaleEvent } from "./behavior.ts";
import { combineProposals } from "./combine.ts";
import type { ForecastOutcome } from "./forecast/forecast.ts";
import { computeMetricReplicas, HPA_REASON, isUsableValue, type MetricProposal, type ReplicaReading } from "./hpa.ts";
import { isUtilizationMetric, type MetricName, type ScalePolicy } from "./policy.ts";

export interface MetricInput {
  readonly name: MetricName;
  /** Per-replica readings, each value averaged over the policy's metric window. */
  readonly readings: readonly ReplicaReading[];
  /** App-level load seen outside the replicas (e.g. requests held by the balancer); wakes an app at zero. */
  readonly demand?: number;
}

export interface MetricForecast {
  readonly metric: MetricName;
  /** Forecast of the app-level total (sum over replicas; utilization in percent-replicas). */
  readonly outcome: ForecastOutcome;
}

export interface DecisionInput {
  readonly app: string;
  readonly now: number;
  readonly policy: ScalePolicy;
  readonly currentReplicas: number;
  readonly metrics: readonly MetricInput[];
  readonly forecasts?: readonly MetricForecast[];
  /** Window contents: past recommendations and scale events of this app. */
  readonly state: BehaviorState;
  /** Facts the caller noticed while gathering the inputs (e.g. samples skipped at ingest). */
  readonly notes?: readonly string[];
}

export type DecisionRule =
  | `metric:${string}`
  | "tolerance"
  | "invalid-metrics"
  | "scale-to-zero"
  | "wake-from-zero"
  | "forecast"
  | "stabilization"
  | "cooldown"
  | "rate-limit"
  | "bounds";

export type ScaleAction = "scale-up" | "scale-down" | "none";

export interface MetricResult {
  readonly metric: MetricName;
  readonly target: number;
  readonly proposal: MetricProposal;
}

export interface ForecastInfo {
  readonly used: boolean;
  readonly recommendation: number | null;
  readonly metric: MetricName | null;
  readonly weight: number;
  readonly note: string;
  readonly outcomes: readonly { metric: MetricName; ok: boolean; method: string; mape?: number; reason?: string; replicas?: number }[];
}

export interface Decision {
  readonly app: string;
  readonly at: number;
  readonly inputs: {
    readonly currentReplicas: number;
    readonly min: number;
    readonly max: number;
    readonly metrics: readonly MetricInput[];
    readonly windowSize: number;
  };
  readonly perMetric: readonly MetricResult[];
  readonly forecast: ForecastInfo | null;
  /** The metrics' proposal before the forecast and behavior (null when none could be made). */
  readonly reactive: number | null;
  /** After the forecast blend; what the stabilization window remembers. */
  readonly recommendation: number | null;
  readonly rule: DecisionRule;
  readonly current: number;
  readonly desired: number;
  readonly action: ScaleAction;
  readonly reason: string;
  readonly dryRun: boolean;
  readonly notes: readonly string[];
}

/** Metrics that measure offered load; their being zero is what "idle" means for scale to zero. */
function isLoadMetric(name: MetricName): boolean {
  return name === "rps_per_replica" || name === "inflight_per_replica" || name.startsWith("custom:");
}

/** Latency does not add up across replicas, so a forecast of its total means nothing. */
export function isForecastable(name: MetricName): boolean {
  return name !== "latency_p95_ms";
}

function hasLoad(m: MetricInput): boolean {
  if ((m.demand ?? 0) > 0) return true;
  for (const r of m.readings) if (isUsableValue(r.value) && r.value > 0 && r.phase !== "stopping") return true;
  return false;
}

/** One line for a metric's proposal; decide() formats only the winner's (formatting all of them cost more than the math). */
export function describeProposal(metric: MetricName, target: number, p: MetricProposal): string {
  const skipped = p.counts.invalid > 0 ? `; ${p.counts.invalid} reading(s) skipped (NaN or negative)` : "";
  if (!p.ok) return `${metric}: no proposal (${p.reason}; ready ${p.counts.ready}, missing ${p.counts.missing}, unready ${p.counts.unready})${skipped}`;
  const unit = isUtilizationMetric(metric) ? "%" : "";
  return `${metric} ${p.current}${unit} vs target ${target}${unit} (ratio ${Math.round(p.usageRatio * 100) / 100}) -> ${p.replicas} [${p.reason}]${skipped}`;
}

function forecastReplicas(metric: MetricName, target: number, outcome: ForecastOutcome): number | null {
  if (!outcome.ok || outcome.mean.length === 0) return null;
  let peak = 0;
  for (const v of outcome.mean) if (v > peak) peak = v;
  return Math.ceil(peak / target);
}

function blendForecast(input: DecisionInput, reactive: number): ForecastInfo | null {
  const { predictive } = input.policy;
  if (!predictive.enabled) return null;
  const outcomes: ForecastInfo["outcomes"][number][] = [];
  let best: number | null = null;
  let bestMetric: MetricName | null = null;
  for (const f of input.forecasts ?? []) {
    const spec = input.policy.metrics.find((m) => m.name === f.metric);
    if (!spec || !isForecastable(f.metric)) continue;
    const replicas = forecastReplicas(f.metric, spec.target, f.outcome);
    outcomes.push(
      f.outcome.ok
        ? { metric: f.metric, ok: true, method: f.outcome.method, mape: f.outcome.mape, replicas: replicas ?? 0 }
        : { metric: f.metric, ok: false, method: f.outcome.method, reason: `${f.outcome.reason}: ${f.outcome.detail}`, ...(f.outcome.mape === undefined ? {} : { mape: f.outcome.mape }) },
    );
    if (replicas !== null && (best === null || replicas > best)) {
      best = replicas;
      bestMetric = f.metric;
    }
  }
  const info = { recommendation: best, metric: bestMetric, weight: predictive.weight, outcomes };
  if (best === null) return { ...info, used: false, note: outcomes.length === 0 ? "no forecast available" : "every forecast abstained" };
  if (best <= reactive) return { ...info, used: false, note: `forecast ${best} not above reactive ${reactive}` };
  return { ...info, used: true, note: `forecast ${best} (${bestMetric}) blended at weight ${predictive.weight}` };
}

const RULE_OF: Partial<Record<BehaviorReason, DecisionRule>> = {
  [BEHAVIOR_REASON.scaleUpStabilized]: "stabilization",
  [BEHAVIOR_REASON.scaleDownStabilized]: "stabilization",
  [BEHAVIOR_REASON.cooldownUp]: "cooldown",
  [BEHAVIOR_REASON.cooldownDown]: "cooldown",
  [BEHAVIOR_REASON.scaleUpLimit]: "rate-limit",
  [BEHAVIOR_REASON.scaleDownLimit]: "rate-limit",
  [BEHAVIOR_REASON.tooMany]: "bounds",
  [BEHAVIOR_REASON.tooFew]: "bounds",
};

function actionOf(current: number, desired: number): ScaleAction {
  return desired > current ? "scale-up" : desired < current ? "scale-down" : "none";
}

export function decide(input: DecisionInput): Decision {
  const { policy, currentReplicas: current, now, state } = input;
  const { min, max } = policy;
  const inputs = { currentReplicas: current, min, max, metrics: input.metrics, windowSize: state.recommendations.length };
  const base = { app: input.app, at: now, inputs, current, dryRun: policy.dryRun, notes: input.notes ?? [] };
  const finish = (
    desired: number,
    rule: DecisionRule,
    reason: string,
    perMetric: readonly MetricResult[],
    forecast: ForecastInfo | null,
    reactive: number | null,
    recommendation: number | null,
  ): Decision => ({ ...base, perMetric, forecast, reactive, recommendation, rule, desired, action: actionOf(current, desired), reason });

  if (current > max) return finish(max, "bounds", `current ${current} above max ${max}`, [], null, null, null);
  if (current < min) return finish(min, "bounds", `current ${current} below min ${min}`, [], null, null, null);

  // A linear find beats building a Map for the two or three metrics a policy has.
  const inputOf = (name: MetricName) => input.metrics.find((m) => m.name === name);
  if (current === 0) {
    const loaded = policy.metrics.filter((m) => { const got = inputOf(m.name); return got !== undefined && hasLoad(got); });
    if (loaded.length === 0) return finish(0, "scale-to-zero", "at zero and no load", [], null, 0, 0);
    const woken = Math.min(max, 1);
    return finish(woken, "wake-from-zero", `at zero with load on ${loaded.map((m) => m.name).join(", ")}`, [], null, 1, 1);
  }

  const tolerance = { up: policy.behavior.scaleUp.tolerance, down: policy.behavior.scaleDown.tolerance };
  const perMetric: MetricResult[] = [];
  for (const spec of policy.metrics) {
    const readings = inputOf(spec.name)?.readings ?? [];
    const proposal = computeMetricReplicas({
      currentReplicas: current,
      readings,
      tolerance,
      spec: isUtilizationMetric(spec.name)
        ? { kind: "utilization", targetPercent: spec.target, ignoreUnready: spec.name === "cpu" }
        : { kind: "average", target: spec.target },
    });
    perMetric.push({ metric: spec.name, target: spec.target, proposal });
  }

  const combined = combineProposals(current, perMetric);
  if (!combined.ok) {
    const detail = perMetric.filter((m) => !m.proposal.ok).map((m) => describeProposal(m.metric, m.target, m.proposal));
    return finish(current, "invalid-metrics", `no change: ${combined.reason}; ${detail.join("; ")}`, perMetric, null, null, null);
  }

  let reactive = combined.replicas;
  let rule: DecisionRule = `metric:${combined.metric}`;
  const won = perMetric.find((m) => m.metric === combined.metric);
  let why = won ? describeProposal(won.metric, won.target, won.proposal) : "";
  const held = won?.proposal.reason === HPA_REASON.withinTolerance || won?.proposal.reason === HPA_REASON.rebalancedWithinTolerance;
  if (held && reactive === current) rule = "tolerance";

  if (min === 0) {
    const load = policy.metrics.filter((m) => isLoadMetric(m.name));
    const judged = load.length > 0 ? load : policy.metrics;
    if (judged.every((m) => { const got = inputOf(m.name); return got !== undefined && !hasLoad(got); })) {
      reactive = 0;
      rule = "scale-to-zero";
      why = `idle: ${judged.map((m) => m.name).join(", ")} all zero`;
    }
  }

  const forecast = blendForecast(input, reactive);
  let recommendation = reactive;
  if (forecast?.used && forecast.recommendation !== null) {
    recommendation = Math.max(reactive, reactive + Math.ceil(policy.predictive.weight * (forecast.recommendation - reactive)));
    if (recommendation > reactive) {
      rule = "forecast";
      why = `${forecast.note}: reactive ${reactive} -> ${recommendation}`;
    }
  }

  const normalized = normalizeDesired({ desired: recommendation, current, min, max, now, behavior: policy.behavior, state });
  const behaviorRule = RULE_OF[normalized.reason];
  if (normalized.desired !== recommendation && behaviorRule) {
    rule = behaviorRule;
    why = `${why}; ${normalized.reason} (${recommendation} -> ${normalized.desired})`;
  }
  return finish(normalized.desired, rule, why, perMetric, forecast, reactive, recommendation);
}

/** Records the evaluation in the behavior state: the recommendation for the windows, the change (unless dry-run) for rates and cooldowns. */
export function commitDecision(state: BehaviorState, decision: Decision, policy: ScalePolicy): void {
  if (decision.recommendation !== null) recordRecommendation(state, decision.at, decision.recommendation, policy.behavior);
  if (decision.action !== "none" && !decision.dryRun) recordScaleEvent(state, decision.at, decision.current, decision.desired, policy.behavior);
}
