// The scaling policy of one app and its validation, which reports every problem with its field path.
import { type Behavior, DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, type RatePolicy, type ScalingRules } from "./behavior.ts";

export const BUILTIN_METRICS = ["cpu", "memory", "rps_per_replica", "latency_p95_ms", "inflight_per_replica"] as const;
export type BuiltinMetric = (typeof BUILTIN_METRICS)[number];
export type MetricName = BuiltinMetric | `custom:${string}`;

/** cpu and memory are utilization in % of the replica's request; the others are per-replica averages. */
export interface MetricTarget {
  readonly name: MetricName;
  readonly target: number;
}

export type ForecastMethod = "holt-winters" | "seasonal-naive";

export interface PredictiveConfig {
  readonly enabled: boolean;
  /** 0 = reactive only, 1 = follow the forecast (upwards only). */
  readonly weight: number;
  /** How far ahead to look: roughly the time a new replica needs to become ready. */
  readonly horizonSeconds: number;
  /** Bucket width of the forecast series. */
  readonly stepSeconds: number;
  /** Season length (a day by default); must be a whole number of steps. */
  readonly seasonSeconds: number;
  /** Abstain when the recent one-step MAPE (percent) is above this. */
  readonly maxMape: number;
  readonly method: ForecastMethod;
}

export interface ScalePolicy {
  readonly min: number;
  readonly max: number;
  readonly metrics: readonly MetricTarget[];
  readonly behavior: Behavior;
  readonly predictive: PredictiveConfig;
  /** Decisions are computed and recorded but not applied. */
  readonly dryRun: boolean;
  /** Per-replica readings are averaged over this many seconds. */
  readonly metricWindowSeconds: number;
}

export const DEFAULT_PREDICTIVE: PredictiveConfig = {
  enabled: false,
  weight: 0.5,
  horizonSeconds: 600,
  stepSeconds: 300,
  seasonSeconds: 86_400,
  maxMape: 30,
  method: "holt-winters",
};

export interface PolicyError {
  readonly path: string;
  readonly message: string;
}

export type PolicyValidation = { readonly ok: true; readonly policy: ScalePolicy } | { readonly ok: false; readonly errors: readonly PolicyError[] };

/** Kubernetes caps: a window of at most an hour, a policy period of at most 30 minutes. */
const MAX_WINDOW_SECONDS = 3600;
const MAX_PERIOD_SECONDS = 1800;

export function isMetricName(name: unknown): name is MetricName {
  if (typeof name !== "string") return false;
  if ((BUILTIN_METRICS as readonly string[]).includes(name)) return true;
  return /^custom:[A-Za-z0-9_.\-/]+$/.test(name);
}

export function isUtilizationMetric(name: MetricName): boolean {
  return name === "cpu" || name === "memory";
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);

class Checker {
  readonly errors: PolicyError[] = [];
  fail(path: string, message: string): void {
    this.errors.push({ path, message });
  }
  num(obj: Rec, key: string, path: string, fallback: number | undefined, check: (n: number) => string | null): number {
    const v = obj[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      this.fail(`${path}${key}`, v === undefined ? "is required" : `must be a finite number, got ${JSON.stringify(v)}`);
      return fallback ?? 0;
    }
    const problem = check(v);
    if (problem) this.fail(`${path}${key}`, problem);
    return v;
  }
  bool(obj: Rec, key: string, path: string, fallback: boolean): boolean {
    const v = obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") this.fail(`${path}${key}`, "must be true or false");
    return v === true;
  }
}

const positiveInt = (n: number) => (Number.isInteger(n) && n > 0 ? null : "must be a positive integer");
const nonNegInt = (n: number) => (Number.isInteger(n) && n >= 0 ? null : "must be a non-negative integer");
const positive = (n: number) => (n > 0 ? null : "must be greater than 0");
const nonNeg = (n: number) => (n >= 0 ? null : "must be 0 or more");
const upTo = (max: number) => (n: number) => (Number.isInteger(n) && n >= 0 && n <= max ? null : `must be an integer from 0 to ${max}`);

function checkRules(c: Checker, raw: unknown, path: string, defaults: ScalingRules, direction: "up" | "down"): ScalingRules {
  if (raw === undefined) return defaults;
  if (!isRec(raw)) {
    c.fail(path.slice(0, -1), "must be an object");
    return defaults;
  }
  const selectPolicy = raw.selectPolicy ?? defaults.selectPolicy;
  if (selectPolicy !== "Max" && selectPolicy !== "Min" && selectPolicy !== "Disabled") c.fail(`${path}selectPolicy`, "must be Max, Min or Disabled");
  let policies: RatePolicy[] = [...defaults.policies];
  if (raw.policies !== undefined) {
    if (!Array.isArray(raw.policies) || raw.policies.length === 0) c.fail(`${path}policies`, "must be a non-empty list");
    else {
      policies = raw.policies.map((p: unknown, i: number) => {
        const at = `${path}policies[${i}].`;
        if (!isRec(p)) {
          c.fail(at.slice(0, -1), "must be an object");
          return { type: "Pods", value: 1, periodSeconds: 1 } as RatePolicy;
        }
        if (p.type !== "Pods" && p.type !== "Percent") c.fail(`${at}type`, "must be Pods or Percent");
        const value = c.num(p, "value", at, undefined, positiveInt);
        const periodSeconds = c.num(p, "periodSeconds", at, undefined, (n) => (Number.isInteger(n) && n >= 1 && n <= MAX_PERIOD_SECONDS ? null : `must be an integer from 1 to ${MAX_PERIOD_SECONDS}`));
        return { type: p.type as RatePolicy["type"], value, periodSeconds };
      });
    }
  }
  const tolerance = c.num(raw, "tolerance", path, defaults.tolerance, (n) => (n >= 0 && (direction === "up" || n < 1) ? null : direction === "up" ? "must be 0 or more" : "must be from 0 to below 1"));
  return {
    stabilizationWindowSeconds: c.num(raw, "stabilizationWindowSeconds", path, defaults.stabilizationWindowSeconds, upTo(MAX_WINDOW_SECONDS)),
    selectPolicy: selectPolicy as ScalingRules["selectPolicy"],
    policies,
    tolerance,
    cooldownSeconds: c.num(raw, "cooldownSeconds", path, defaults.cooldownSeconds, nonNeg),
  };
}

function checkMetrics(c: Checker, raw: unknown): MetricTarget[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    c.fail("metrics", "must be a non-empty list");
    return [];
  }
  const seen = new Set<string>();
  return raw.map((m: unknown, i: number) => {
    const at = `metrics[${i}].`;
    if (!isRec(m)) {
      c.fail(`metrics[${i}]`, "must be an object");
      return { name: "cpu", target: 1 };
    }
    if (!isMetricName(m.name)) c.fail(`${at}name`, `unknown metric ${JSON.stringify(m.name)}: use ${BUILTIN_METRICS.join(", ")} or custom:<name>`);
    else if (seen.has(m.name)) c.fail(`${at}name`, `duplicate metric ${m.name}`);
    else seen.add(m.name);
    const target = c.num(m, "target", at, undefined, positive);
    return { name: m.name as MetricName, target };
  });
}

function checkPredictive(c: Checker, raw: unknown): PredictiveConfig {
  if (raw === undefined) return DEFAULT_PREDICTIVE;
  if (!isRec(raw)) {
    c.fail("predictive", "must be an object");
    return DEFAULT_PREDICTIVE;
  }
  const d = DEFAULT_PREDICTIVE;
  const p = "predictive.";
  const stepSeconds = c.num(raw, "stepSeconds", p, d.stepSeconds, positiveInt);
  const seasonSeconds = c.num(raw, "seasonSeconds", p, d.seasonSeconds, positiveInt);
  if (stepSeconds > 0 && seasonSeconds % stepSeconds !== 0) c.fail(`${p}seasonSeconds`, "must be a whole number of stepSeconds");
  else if (stepSeconds > 0 && seasonSeconds / stepSeconds < 2) c.fail(`${p}seasonSeconds`, "must span at least 2 steps");
  const method = raw.method ?? d.method;
  if (method !== "holt-winters" && method !== "seasonal-naive") c.fail(`${p}method`, "must be holt-winters or seasonal-naive");
  return {
    enabled: c.bool(raw, "enabled", p, d.enabled),
    weight: c.num(raw, "weight", p, d.weight, (n) => (n >= 0 && n <= 1 ? null : "must be between 0 and 1")),
    horizonSeconds: c.num(raw, "horizonSeconds", p, d.horizonSeconds, nonNegInt),
    stepSeconds,
    seasonSeconds,
    maxMape: c.num(raw, "maxMape", p, d.maxMape, positive),
    method: method as ForecastMethod,
  };
}

/** Checks a decoded policy object (from YAML or the API); returns every error, not the first. */
export function validatePolicy(input: unknown): PolicyValidation {
  const c = new Checker();
  if (!isRec(input)) return { ok: false, errors: [{ path: "", message: "policy must be an object" }] };
  const min = c.num(input, "min", "", 1, nonNegInt);
  const max = c.num(input, "max", "", undefined, positiveInt);
  const bothGiven = typeof input.max === "number" && Number.isFinite(input.max);
  if (bothGiven && min > max) c.fail("min", `must not exceed max (${min} > ${max})`);
  const metrics = checkMetrics(c, input.metrics);
  const b = input.behavior;
  if (b !== undefined && !isRec(b)) c.fail("behavior", "must be an object");
  const behavior: Behavior = {
    scaleUp: checkRules(c, isRec(b) ? b.scaleUp : undefined, "behavior.scaleUp.", DEFAULT_SCALE_UP, "up"),
    scaleDown: checkRules(c, isRec(b) ? b.scaleDown : undefined, "behavior.scaleDown.", DEFAULT_SCALE_DOWN, "down"),
  };
  const predictive = checkPredictive(c, input.predictive);
  const dryRun = c.bool(input, "dryRun", "", false);
  const metricWindowSeconds = c.num(input, "metricWindowSeconds", "", 15, (n) => (Number.isInteger(n) && n >= 1 && n <= 600 ? null : "must be an integer from 1 to 600"));
  const known = new Set(["min", "max", "metrics", "behavior", "predictive", "dryRun", "metricWindowSeconds"]);
  for (const key of Object.keys(input)) if (!known.has(key)) c.fail(key, "unknown field");
  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  return { ok: true, policy: { min, max, metrics, behavior, predictive, dryRun, metricWindowSeconds } };
}
