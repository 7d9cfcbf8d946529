// Desired replica count for one metric, with the semantics of the Kubernetes HPA replica calculator.
//
// Input (`MetricComputation`):
// - `currentReplicas`: the replica count the app is set to now (Kubernetes' scale spec replicas).
// - `readings`: one entry per replica the process manager knows: its phase and, when the metric
//   was read, its value. For utilization metrics (cpu, memory) `value` is absolute usage and
//   `request` the replica's request in the same unit (millicores, bytes).
// - `spec`: `{kind: "utilization", targetPercent, ignoreUnready}` (cpu, memory: usage as % of
//   request) or `{kind: "average", target}` (per-replica average: rps_per_replica,
//   latency_p95_ms, inflight_per_replica, custom:*; Kubernetes' Pods / AverageValue metrics).
// - `tolerance`: `{up, down}` (Kubernetes 1.33 per-direction tolerance; 0.1 each by default).
//
// Output (`MetricProposal`): `{ok: true, replicas, usageRatio, current, counts, reason}` or
// `{ok: false, reason}` when no proposal can be made (no readings from ready replicas, missing
// request). `current` is the utilization in whole percent (truncated, as Kubernetes does) or
// the plain average.
//
// Upstream rule followed: Kubernetes v1.26 and later (kubernetes/kubernetes#112178, the fix for #111433;
// unchanged in current releases), pkg/controller/podautoscaler/replica_calculator.go.
//
// Replica grouping (Kubernetes groupPods): `stopping` replicas are dropped entirely; `starting`
// replicas (Pending) are "unready" for every metric; `unready` replicas count as unready only when
// `ignoreUnready` is set (Kubernetes does this for cpu only); a replica without a usable value
// (absent, NaN, negative) is "missing". First pass: ratio over the ready readings; with no
// missing and no unready-on-scale-up replicas, the result is ceil(ratio * readyCount). Otherwise
// missing replicas count as max(100%, target%) of their request (utilization; a 100% fill under a
// target above 100% would amplify the scale-down it is meant to dampen) or the target (average) on a
// scale-down and as 0 on a scale-up, unready replicas as 0 on a scale-up, and the ratio is
// recomputed; if it lands inside tolerance or flips direction nothing changes, else the result is
// ceil(newRatio * replicasCounted), unless that count moves against the ratio's direction.
//
// Deliberate differences: for average metrics a first-pass ratio of exactly 1 leaves missing
// replicas out (Kubernetes sets them to 0 there, which can only scale down on a full-target
// reading); the final "count against direction" guard applies to both kinds.

export type ReplicaPhase = "ready" | "unready" | "starting" | "stopping";

export interface ReplicaReading {
  readonly phase: ReplicaPhase;
  readonly value?: number | undefined;
  readonly request?: number | undefined;
}

export interface Tolerance {
  readonly up: number;
  readonly down: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { up: 0.1, down: 0.1 };

export interface UtilizationSpec {
  readonly kind: "utilization";
  readonly targetPercent: number;
  readonly ignoreUnready: boolean;
}

export interface AverageSpec {
  readonly kind: "average";
  readonly target: number;
}

export interface MetricComputation {
  readonly currentReplicas: number;
  readonly readings: readonly ReplicaReading[];
  readonly spec: UtilizationSpec | AverageSpec;
  readonly tolerance?: Tolerance;
}

export const HPA_REASON = {
  withinTolerance: "within-tolerance",
  ratio: "ratio",
  rebalanced: "ratio-rebalanced",
  rebalancedWithinTolerance: "rebalanced-within-tolerance",
  directionFlip: "direction-flip",
  countAgainstDirection: "count-against-direction",
  noReadyMetrics: "no-ready-metrics",
  missingRequest: "missing-request",
} as const;

export type HpaReason = (typeof HPA_REASON)[keyof typeof HPA_REASON];

export interface ReplicaCounts {
  readonly ready: number;
  readonly missing: number;
  readonly unready: number;
  /** Readings present but unusable (NaN, negative): counted as missing. */
  readonly invalid: number;
}

export type MetricProposal =
  | {
      readonly ok: true;
      readonly replicas: number;
      readonly usageRatio: number;
      readonly current: number;
      readonly counts: ReplicaCounts;
      readonly reason: HpaReason;
    }
  | { readonly ok: false; readonly reason: HpaReason; readonly counts: ReplicaCounts };

export function isWithinTolerance(ratio: number, tolerance: Tolerance): boolean {
  return 1 - tolerance.down <= ratio && ratio <= 1 + tolerance.up;
}

export function isUsableValue(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value) && value >= 0;
}

const enum Group {
  Dropped,
  Ready,
  Missing,
  Unready,
}

function groupOf(r: ReplicaReading, ignoreUnready: boolean): Group {
  if (r.phase === "stopping") return Group.Dropped;
  if (r.phase === "starting") return Group.Unready;
  if (!isUsableValue(r.value)) return Group.Missing;
  if (r.phase === "unready" && ignoreUnready) return Group.Unready;
  return Group.Ready;
}

/** Usage ratio and current figure over (value, request) pairs; Kubernetes truncates utilization to whole percent. */
function ratioOf(spec: UtilizationSpec | AverageSpec, sumValue: number, sumRequest: number, n: number): [number, number] {
  if (spec.kind === "utilization") {
    const utilization = Math.trunc((sumValue * 100) / sumRequest);
    return [utilization / spec.targetPercent, utilization];
  }
  const average = sumValue / n;
  return [average / spec.target, average];
}

export function computeMetricReplicas(input: MetricComputation): MetricProposal {
  const { spec, currentReplicas, readings } = input;
  const tolerance = input.tolerance ?? DEFAULT_TOLERANCE;
  const utilization = spec.kind === "utilization";
  const ignoreUnready = utilization && spec.ignoreUnready;
  let ready = 0;
  let missing = 0;
  let unready = 0;
  let invalid = 0;
  let sumValue = 0;
  let sumRequest = 0;
  let missingRequest = 0;
  let unreadyRequest = 0;
  let requestAbsent = false;
  for (const r of readings) {
    const g = groupOf(r, ignoreUnready);
    if (g === Group.Dropped) continue;
    const request = r.request ?? 0;
    if (utilization && !(request > 0)) requestAbsent = true;
    if (g === Group.Ready) {
      ready++;
      sumValue += r.value as number;
      sumRequest += request;
    } else if (g === Group.Missing) {
      missing++;
      missingRequest += request;
      if (r.value !== undefined) invalid++;
    } else {
      unready++;
      unreadyRequest += request;
    }
  }
  const counts: ReplicaCounts = { ready, missing, unready, invalid };
  if (requestAbsent) return { ok: false, reason: HPA_REASON.missingRequest, counts };
  if (ready === 0) return { ok: false, reason: HPA_REASON.noReadyMetrics, counts };

  const [usageRatio, current] = ratioOf(spec, sumValue, sumRequest, ready);
  const done = (replicas: number, reason: HpaReason): MetricProposal => ({ ok: true, replicas, usageRatio, current, counts, reason });
  const rebalanceUnready = unready > 0 && usageRatio > 1;

  if (!rebalanceUnready && missing === 0) {
    if (isWithinTolerance(usageRatio, tolerance)) return done(currentReplicas, HPA_REASON.withinTolerance);
    return done(Math.ceil(usageRatio * ready), HPA_REASON.ratio);
  }

  let n = ready;
  if (missing > 0 && usageRatio !== 1) {
    n += missing;
    if (usageRatio < 1) sumValue += utilization ? (missingRequest * Math.max(100, spec.targetPercent)) / 100 : missing * spec.target;
    if (utilization) sumRequest += missingRequest;
  }
  if (rebalanceUnready) {
    n += unready;
    if (utilization) sumRequest += unreadyRequest;
  }
  const [newRatio] = ratioOf(spec, sumValue, sumRequest, n);

  if (isWithinTolerance(newRatio, tolerance)) return done(currentReplicas, HPA_REASON.rebalancedWithinTolerance);
  if ((usageRatio < 1 && newRatio > 1) || (usageRatio > 1 && newRatio < 1)) return done(currentReplicas, HPA_REASON.directionFlip);
  const replicas = Math.ceil(newRatio * n);
  if ((newRatio < 1 && replicas > currentReplicas) || (newRatio > 1 && replicas < currentReplicas)) {
    return done(currentReplicas, HPA_REASON.countAgainstDirection);
  }
  return done(replicas, HPA_REASON.rebalanced);
}
