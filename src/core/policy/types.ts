// The policy model after validation (src/core/policy/validate.ts builds it from a document): selectors, condition
// trees, rules with `for` and cooldown, actions. Plain data, so it can be stored, shown by the API and compared.

export const TARGET_KINDS = ["app", "replica"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const MODES = ["enforce", "dry_run"] as const;
export type PolicyMode = (typeof MODES)[number];

/** Every series a condition can name, with the target kinds that have it. */
export const METRICS: Readonly<Record<string, { readonly of: readonly ("replica" | "app" | "host")[]; readonly help: string }>> = {
  cpu: { of: ["replica", "app"], help: "percent of one core (app: summed over its replicas)" },
  memory: { of: ["replica", "app"], help: "resident bytes (app: summed)" },
  rps: { of: ["replica", "app"], help: "requests a second through the balancers, over their last 10 s" },
  error_ratio: { of: ["replica", "app"], help: "(5xx + proxy errors) / requests, over the balancers' last 10 s; 0 without requests" },
  latency_p50: { of: ["replica", "app"], help: "ms" },
  latency_p95: { of: ["replica", "app"], help: "ms" },
  latency_p99: { of: ["replica", "app"], help: "ms" },
  inflight: { of: ["replica", "app"], help: "open requests" },
  restarts: { of: ["replica", "app"], help: "restarts since the agent started (app: summed)" },
  ready: { of: ["replica", "app"], help: "replica: 1 when ready; app: ready replicas" },
  replicas: { of: ["app"], help: "desired replica count" },
  unhealthy: { of: ["replica", "app"], help: "replica: 1 when its endpoint's health is critical; app: such replicas" },
  load1: { of: ["host"], help: "host load average over 1 minute" },
  host_memory: { of: ["host"], help: "fraction of host memory in use (0..1)" },
};

export const AGGREGATIONS = ["last", "avg", "min", "max", "sum", "rate", "p95"] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
export const COMPARISONS = [">", ">=", "<", "<=", "==", "!="] as const;
export type Comparison = (typeof COMPARISONS)[number];
export const LABEL_OPS = ["eq", "neq", "in", "not_in", "exists", "regex"] as const;
export type LabelOp = (typeof LABEL_OPS)[number];
export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface MetricCondition {
  readonly kind: "metric";
  readonly name: string;
  readonly of: "replica" | "app" | "host";
  readonly windowMs: number;
  readonly agg: Aggregation;
  readonly op: Comparison;
  readonly value: number;
}
export interface LabelCondition {
  readonly kind: "label";
  readonly key: string;
  readonly op: LabelOp;
  readonly values: readonly string[];
  /** Compiled once for op "regex". */
  readonly regex?: RegExp;
}
export interface TimeCondition {
  readonly kind: "time";
  readonly weekdays: readonly Weekday[];
  /** Minutes since midnight, in `timeZone`; from > to wraps past midnight. */
  readonly fromMin: number;
  readonly toMin: number;
  readonly timeZone: string;
}
export interface HealthCondition {
  readonly kind: "health";
  /** The endpoint health the target must be in (replica: its own; app: any replica). */
  readonly status: "passing" | "warning" | "critical" | "unknown" | "not_ready";
}
export interface CelCondition {
  readonly kind: "cel";
  readonly source: string;
}
export type Condition =
  | { readonly kind: "all"; readonly of: readonly Condition[] }
  | { readonly kind: "any"; readonly of: readonly Condition[] }
  | { readonly kind: "not"; readonly of: Condition }
  | MetricCondition
  | LabelCondition
  | TimeCondition
  | HealthCondition
  | CelCondition;

export const ACTION_TYPES = ["scale", "restart", "drain", "set_weight", "eject", "rollback", "pause_scaling", "resume_scaling", "alert", "webhook", "run_task"] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export type Action =
  | { readonly type: "scale"; readonly to?: number; readonly by?: number; readonly factor?: number; readonly min?: number; readonly max?: number; readonly forMs: number }
  | { readonly type: "restart"; readonly target: "replica" | "app" }
  | { readonly type: "drain" }
  | { readonly type: "set_weight"; readonly weight: number }
  | { readonly type: "eject" }
  | { readonly type: "rollback"; readonly revision?: number }
  | { readonly type: "pause_scaling"; readonly forMs: number }
  | { readonly type: "resume_scaling" }
  | { readonly type: "alert"; readonly severity: "info" | "warning" | "critical"; readonly summary: string }
  | { readonly type: "webhook"; readonly url: string; readonly body: string; readonly timeoutMs: number; readonly retries: number; readonly secretEnv?: string }
  | { readonly type: "run_task"; readonly task: string; readonly params: Readonly<Record<string, string>> };

export interface Rule {
  readonly name: string;
  readonly when: Condition;
  readonly forMs: number;
  readonly cooldownMs: number;
  readonly actions: readonly Action[];
}

export interface Selector {
  readonly kinds: readonly TargetKind[];
  readonly matchLabels: Readonly<Record<string, string>>;
}

/** matchLabels as pairs, computed once per policy (selection runs per policy per target per tick). */
export const labelPairs = (s: Selector): ReadonlyArray<readonly [string, string]> => Object.entries(s.matchLabels);

export interface Policy {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly selector: Selector;
  readonly priority: number;
  readonly mode: PolicyMode;
  readonly rules: readonly Rule[];
  /** Where it came from: a file path, "api", or "builtin". */
  readonly source: string;
  /** The document as written (YAML/JSON decoded), for GET and export. */
  readonly document: unknown;
}

export const policyKey = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

/** One target as the evaluator sees it in one tick: labels, current metric values, health, CEL context. */
export interface TargetView {
  readonly kind: TargetKind;
  /** app name, or `<app>-<replica>` */
  readonly id: string;
  /** `<kind>:<id>`, unique over kinds (state and series are kept under it). */
  readonly key: string;
  readonly app: string;
  readonly replica?: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Current sample of each metric this target has (the runner samples them each tick). */
  readonly metrics: Readonly<Record<string, number>>;
  readonly health: HealthCondition["status"] | "mixed";
  /** replica: its endpoint health; app: every replica's. */
  readonly healthOf: readonly HealthCondition["status"][];
  readonly ageMs: number;
  readonly deploymentInProgress: boolean;
}

export interface Snapshot {
  readonly now: number;
  readonly targets: readonly TargetView[];
  readonly host: Readonly<Record<string, number>>;
}
