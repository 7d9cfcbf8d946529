// The rollout controller: a pure state machine that replaces an app's replicas of other revisions by replicas of
// its target revision (the rolling strategy), watches them, and reverts by itself when they fail. The runner
// (src/supervisor/deploy-runner.ts) persists the state it returns before doing the actions.
//
//   forward ──(all replicas of `to` available)──▶ succeeded
//      │ (a new replica crashed / not healthy by healthy_deadline / no progress by progress_deadline / abort)
//      ▼  auto_revert (or abort)                         auto_revert off, or the revert itself fails
//   revert ──(all replicas of `from` available)──▶ reverted          ──▶ paused with `failure` (operator decides)
//   any non-final state ──(a new rollout of the app)──▶ superseded
//
// canary and blue_green are the same forward phase with traffic steps in front of it: first `stepReplicas` of the
// target start beside the old replicas (blue_green: a full set) with no share of the traffic; once all are
// available each step gives the target revision its `weight` percent of the picks at the balancers (the `split`,
// exact, whatever the replica counts), holds it for the step's pause (none: until promoted) and passes the
// analysis gate; after the last step the rest is replaced as in rolling (a last step at 100% keeps the old
// replicas out of traffic while they go: blue_green's switch). A revert gives the old revision all the traffic at
// once, then retires the new replicas.
//
// Each observation is the whole picture (every replica with its revision, readiness and health), so a decision
// never depends on remembering what was asked before: a restarted agent resumes from the persisted state and a
// fresh observation. Counting rule: replicas that are stopping still count towards desired + max_surge.

export interface RolloutOptions {
  readonly maxSurge: number;
  readonly maxUnavailable: number;
  readonly minHealthyMs: number;
  readonly healthyDeadlineMs: number;
  readonly progressDeadlineMs: number;
  readonly autoRevert: boolean;
  /** Compare the new revision's traffic at the balancers with the old one's (null: no analysis, the checks decide). */
  readonly analysis: AnalysisOptions | null;
  /** rolling (absent on rollouts saved by earlier versions), canary or blue_green. */
  readonly strategy?: Strategy;
  /** canary and blue_green: the traffic steps before the rest is replaced (absent or empty: none, rolling). */
  readonly steps?: readonly TrafficStep[] | null;
  /** Replicas of the target started beside the old ones before the steps: a count, or "all" (the desired count). */
  readonly stepReplicas?: number | "all" | { readonly percent: number };
}

export type Strategy = "rolling" | "canary" | "blue_green";

export interface TrafficStep {
  /** The target revision's share of the picks at every balancer of the app, in percent (0-100). */
  readonly weight: number;
  /** Held this long once applied (then the analysis gate); null: until promoted. */
  readonly pauseMs: number | null;
}

/** A revision's share of its app's traffic at the balancers (the other revisions share the rest). */
export interface Split {
  readonly revision: number;
  readonly percent: number;
}

export interface AnalysisOptions {
  /** The new revision fails when its failure ratio (5xx + gateway failures) exceeds the old one's by more than this. */
  readonly maxErrorRatio: number;
  /** ... or its p95 latency is more than this many times the old one's (and above 1 ms). */
  readonly maxLatencyRatio: number;
  /** ... or its p99 latency is more than this many times the old one's (and above 1 ms); absent: maxLatencyRatio. */
  readonly maxP99Ratio?: number;
  /** Requests each side must have served in the window before it is judged. */
  readonly minRequests: number;
}

/** One revision's traffic at the balancers over the recent window. */
export interface RevisionTraffic {
  readonly requests: number;
  /** 5xx answers plus gateway failures (connect errors, timeouts). */
  readonly failures: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

/** Below this a p95 is noise (a timer tick, a GC pause): latency is not compared under it. */
export const LATENCY_FLOOR_MS = 1;

export type Phase = "forward" | "revert";
export type Outcome = "succeeded" | "reverted" | "superseded";
export type RolloutKind = "deploy" | "rollback";

export const Reason = {
  STARTED: "started",
  PROGRESSING: "progressing",
  COMPLETE: "complete",
  REPLICA_FAILED: "replica-failed",
  HEALTHY_DEADLINE: "healthy-deadline",
  ANALYSIS_ERRORS: "analysis-errors",
  ANALYSIS_LATENCY: "analysis-latency",
  PROGRESS_DEADLINE: "progress-deadline",
  ABORTED: "aborted",
  PAUSED: "paused",
  RESUMED: "resumed",
  SUPERSEDED: "superseded",
  REVERTED: "reverted",
  UNCHANGED: "unchanged",
  STEP: "step",
  AWAITING_PROMOTE: "awaiting-promote",
  PROMOTED: "promoted",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface RolloutState {
  readonly id: string;
  readonly app: string;
  readonly kind: RolloutKind;
  /** The revision being replaced (where a revert goes). */
  readonly from: number;
  /** The revision being rolled out. */
  readonly to: number;
  /** What new replicas run now: `to` going forward, `from` while reverting. */
  readonly target: number;
  readonly phase: Phase;
  readonly paused: boolean;
  readonly outcome: Outcome | null;
  readonly reason: Reason;
  /** Why it went into revert (or paused on a failure), for the operator. */
  readonly failure: string | null;
  readonly options: RolloutOptions;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly endedAt: number | null;
  /** When the current phase began: exits and deadlines before it are not held against the target. */
  readonly phaseAt: number;
  /** Last time a target replica became available or an other-revision one went away. */
  readonly progressAt: number;
  readonly best: { readonly available: number; readonly others: number };
  /** Who started it (token name, "file", "policy"...). */
  readonly by: string;
  /** Index of the traffic step in force (or being prepared); null or absent: no (more) steps. */
  readonly step?: number | null;
  /** When the current step's weight was applied (null: its replicas are not all available yet). */
  readonly stepAt?: number | null;
  /** The traffic split the balancers apply to the app's endpoints (null or absent: by their own weights). */
  readonly split?: Split | null;
}

export type ReplicaPhase = "starting" | "ready" | "stopping" | "down";

export interface ReplicaObservation {
  readonly id: number;
  readonly revision: number;
  readonly phase: ReplicaPhase;
  /** Wall-clock ms of its last exit we did not ask for (null: none seen): a target replica that exited has failed. */
  readonly lastExitAt: number | null;
  /** Wall-clock ms its slot was launched (or adopted). */
  readonly startedAt: number;
  /** Since when it has been ready and passing its checks (null: not both). */
  readonly passingSince: number | null;
}

export type RolloutEvent =
  | {
      readonly type: "observe";
      readonly replicas: readonly ReplicaObservation[];
      readonly desired: number;
      readonly launching: number;
      /** Traffic of the target revision and of the others, when analysis is on. */
      readonly traffic?: { readonly target: RevisionTraffic; readonly others: RevisionTraffic };
    }
  | { readonly type: "pause" }
  | { readonly type: "resume" }
  | { readonly type: "abort"; readonly by: string }
  /** Skip the rest of the current step (its pause, its gate): the next step, or the replacement of the rest. */
  | { readonly type: "promote"; readonly by: string }
  | { readonly type: "supersede"; readonly by: number };

export type RolloutAction =
  | { readonly kind: "set-target"; readonly revision: number }
  | { readonly kind: "launch"; readonly revision: number; readonly count: number }
  | { readonly kind: "retire"; readonly id: number }
  | { readonly kind: "announce"; readonly type: string; readonly severity: "info" | "warning" | "error"; readonly message: string };

export interface Decision {
  readonly state: RolloutState;
  readonly actions: readonly RolloutAction[];
  readonly reason: Reason;
}

export interface StartInput {
  readonly id: string;
  readonly app: string;
  readonly kind: RolloutKind;
  readonly from: number;
  readonly to: number;
  readonly options: RolloutOptions;
  readonly by: string;
}

export function startRollout(input: StartInput, now: number): Decision {
  const state: RolloutState = {
    ...input,
    target: input.to,
    phase: "forward",
    paused: false,
    outcome: null,
    reason: Reason.STARTED,
    failure: null,
    startedAt: now,
    updatedAt: now,
    endedAt: null,
    phaseAt: now,
    progressAt: now,
    best: { available: 0, others: Number.MAX_SAFE_INTEGER },
    ...(stepsOf(input.options).length > 0 ? { step: 0, stepAt: null, split: { revision: input.to, percent: 0 } } : { step: null, stepAt: null, split: null }),
  };
  const verb = input.kind === "rollback" ? "rollback" : "rollout";
  return {
    state,
    actions: [
      { kind: "set-target", revision: input.to },
      { kind: "announce", type: "deploy.started", severity: "info", message: `${input.app}: ${verb} ${input.id} from revision ${input.from} to ${input.to} started (by ${input.by})` },
    ],
    reason: Reason.STARTED,
  };
}

export const isActive = (s: RolloutState) => s.outcome === null;

export const stepsOf = (o: RolloutOptions): readonly TrafficStep[] => o.steps ?? [];

/** Is the rollout in its traffic steps (forward, with a step in force or being prepared)? */
export const stepping = (s: RolloutState): boolean => s.phase === "forward" && s.step !== undefined && s.step !== null && s.step < stepsOf(s.options).length;

const serving = (r: ReplicaObservation) => r.phase === "ready" && r.passingSince !== null;

export function decide(s: RolloutState, e: RolloutEvent, now: number): Decision {
  if (!isActive(s)) return { state: s, actions: [], reason: Reason.UNCHANGED };
  switch (e.type) {
    case "pause":
      if (s.paused) return { state: s, actions: [], reason: Reason.UNCHANGED };
      return {
        state: { ...s, paused: true, reason: Reason.PAUSED, updatedAt: now },
        actions: [{ kind: "announce", type: "deploy.paused", severity: "info", message: `${s.app}: rollout ${s.id} paused by the operator` }],
        reason: Reason.PAUSED,
      };
    case "resume":
      if (!s.paused) return { state: s, actions: [], reason: Reason.UNCHANGED };
      // Deadlines count from the resume: time spent paused is not the new revision's fault.
      return {
        state: { ...s, paused: false, failure: s.phase === "forward" ? null : s.failure, reason: Reason.RESUMED, updatedAt: now, phaseAt: now, progressAt: now },
        actions: [{ kind: "announce", type: "deploy.resumed", severity: "info", message: `${s.app}: rollout ${s.id} resumed (${s.phase === "forward" ? `towards revision ${s.to}` : `reverting to revision ${s.from}`})` }],
        reason: Reason.RESUMED,
      };
    case "abort":
      if (s.phase === "revert") return { state: s.paused ? { ...s, paused: false, updatedAt: now, progressAt: now } : s, actions: [], reason: Reason.UNCHANGED };
      return revert(s, now, Reason.ABORTED, `aborted by ${e.by}`);
    case "promote":
      if (!stepping(s) || s.paused) return { state: s, actions: [], reason: Reason.UNCHANGED };
      return advance(s, now, `promoted by ${e.by}`);
    case "supersede":
      return end(s, now, "superseded", Reason.SUPERSEDED, `${s.app}: rollout ${s.id} superseded by a rollout of revision ${e.by}`, "info");
    case "observe":
      return observe(s, e, now);
  }
}

function revert(s: RolloutState, now: number, reason: Reason, failure: string): Decision {
  return {
    // A rollout that shifted traffic gives it all back to the old revision at once (blue_green's switch back).
    state: { ...s, phase: "revert", target: s.from, paused: false, failure, reason, updatedAt: now, phaseAt: now, progressAt: now, best: { available: 0, others: Number.MAX_SAFE_INTEGER }, step: null, stepAt: null, split: stepsOf(s.options).length > 0 ? { revision: s.from, percent: 100 } : null },
    actions: [
      { kind: "set-target", revision: s.from },
      { kind: "announce", type: "deploy.reverting", severity: "warning", message: `${s.app}: rollout ${s.id} of revision ${s.to} ${failure}; reverting to revision ${s.from}` },
    ],
    reason,
  };
}

/** The one way a rollout ends. */
function end(s: RolloutState, now: number, outcome: Outcome, reason: Reason, message: string, severity: "info" | "warning"): Decision {
  return {
    state: { ...s, outcome, reason, paused: false, updatedAt: now, endedAt: now, step: null, stepAt: null, split: null },
    actions: [{ kind: "announce", type: `deploy.${outcome}`, severity, message }],
    reason,
  };
}

function fail(s: RolloutState, now: number, reason: Reason, what: string): Decision {
  if (s.phase === "forward" && s.options.autoRevert) return revert(s, now, reason, what);
  // No automatic revert (or the revert itself failed): stop acting and leave the decision to the operator.
  const message = s.phase === "forward" ? `${s.app}: rollout ${s.id} of revision ${s.to} ${what}; paused (auto_revert is off): resume to retry, abort to revert` : `${s.app}: reverting rollout ${s.id} to revision ${s.from} failed too (${what}); paused: fix the app, then resume`;
  return {
    state: { ...s, paused: true, failure: what, reason, updatedAt: now },
    actions: [{ kind: "announce", type: "deploy.failed", severity: "error", message }],
    reason,
  };
}

function observe(s: RolloutState, e: Extract<RolloutEvent, { type: "observe" }>, now: number): Decision {
  const o = s.options;
  const live = e.replicas.filter((r) => r.phase !== "stopping");
  const tgt = live.filter((r) => r.revision === s.target);
  const others = live.filter((r) => r.revision !== s.target);
  // A replica of the target that already ran before this phase (an old one a revert goes back to) has proved
  // itself: it counts while it serves. One started since must pass for min_healthy_time first.
  const available = tgt.filter((r) => serving(r) && (r.startedAt < s.phaseAt || now - r.passingSince! >= o.minHealthyMs));

  if (s.paused) return { state: { ...s, progressAt: now }, actions: [], reason: s.reason };

  for (const r of tgt) {
    if ((r.lastExitAt !== null && r.lastExitAt >= s.phaseAt) || r.phase === "down") return fail(s, now, Reason.REPLICA_FAILED, `failed: replica ${r.id} of revision ${s.target} exited after it started`);
  }
  for (const r of tgt) {
    if (!available.includes(r) && now - Math.max(r.startedAt, s.phaseAt) > o.healthyDeadlineMs) {
      return fail(s, now, Reason.HEALTHY_DEADLINE, `failed: replica ${r.id} of revision ${s.target} was not ready and passing within healthy_deadline (${o.healthyDeadlineMs} ms)`);
    }
  }
  const verdict = s.phase === "forward" && o.analysis && e.traffic ? analyse(o.analysis, e.traffic.target, e.traffic.others) : null;
  if (verdict) return fail(s, now, verdict.reason, verdict.what);
  if (stepping(s)) return observeStep(s, e, now, tgt, others, available);
  let progressAt = s.progressAt;
  const best = { available: Math.max(s.best.available, available.length), others: Math.min(s.best.others, others.length) };
  if (best.available > s.best.available || best.others < s.best.others) progressAt = now;
  if (now - progressAt > o.progressDeadlineMs) return fail(s, now, Reason.PROGRESS_DEADLINE, `made no progress within progress_deadline (${o.progressDeadlineMs} ms)`);
  const state = { ...s, progressAt, best };

  const stopping = e.replicas.length - live.length;
  if (others.length === 0 && stopping === 0 && e.launching === 0 && available.length >= e.desired && tgt.length <= e.desired) {
    return s.phase === "forward"
      ? end(state, now, "succeeded", Reason.COMPLETE, `${s.app}: rollout ${s.id} complete: ${available.length} replica(s) of revision ${s.to}`, "info")
      : end(state, now, "reverted", Reason.REVERTED, `${s.app}: rollout ${s.id} reverted to revision ${s.from} (${s.failure ?? "reverted"})`, "warning");
  }

  const actions: RolloutAction[] = [];
  const retire = (id: number) => actions.push({ kind: "retire", id });
  // Replicas of other revisions that serve nothing (down, starting, failing checks) go at once: keeping them
  // protects no traffic, and a failed new revision's replicas must not linger through a revert.
  const idle = others.filter((r) => !serving(r));
  idle.forEach((r) => retire(r.id));
  const busy = others.filter(serving).sort((a, b) => a.id - b.id);

  // Too many of the target (the app was scaled down meanwhile): the ones not yet available first.
  const excess = tgt.length + e.launching - e.desired;
  if (excess > 0) {
    [...tgt].sort((a, b) => Number(available.includes(a)) - Number(available.includes(b)) || b.id - a.id).slice(0, excess).forEach((r) => retire(r.id));
  }

  const total = e.replicas.length + e.launching;
  const launch = Math.min(e.desired + o.maxSurge - total, e.desired - tgt.length - e.launching);
  if (launch > 0) actions.push({ kind: "launch", revision: s.target, count: launch });

  const canRetire = available.length + busy.length - (e.desired - o.maxUnavailable);
  busy.slice(0, Math.max(0, canRetire)).forEach((r) => retire(r.id));

  return { state: actions.length > 0 || progressAt !== s.progressAt ? { ...state, reason: Reason.PROGRESSING, updatedAt: now } : state, actions, reason: Reason.PROGRESSING };
}

/** The next traffic step, or (after the last) the replacement of the rest. */
function advance(s: RolloutState, now: number, why: string): Decision {
  const steps = stepsOf(s.options);
  const next = (s.step ?? 0) + 1;
  if (next < steps.length) {
    const w = steps[next]!.weight;
    return {
      state: { ...s, step: next, stepAt: now, split: { revision: s.to, percent: w }, reason: Reason.STEP, updatedAt: now, progressAt: now },
      actions: [{ kind: "announce", type: "deploy.step", severity: "info", message: `${s.app}: rollout ${s.id} step ${next + 1}/${steps.length}: revision ${s.to} takes ${w}% of the traffic (${why})` }],
      reason: Reason.STEP,
    };
  }
  // A last step at 100% keeps the old replicas out of traffic while they are retired; otherwise traffic follows
  // the replicas as the rolling replacement goes on.
  const last = steps[steps.length - 1]!.weight;
  const split = last >= 100 ? { revision: s.to, percent: 100 } : null;
  return {
    state: { ...s, step: null, stepAt: null, split, reason: Reason.PROMOTED, updatedAt: now, progressAt: now, best: { available: 0, others: Number.MAX_SAFE_INTEGER } },
    actions: [{ kind: "announce", type: "deploy.promoted", severity: "info", message: `${s.app}: rollout ${s.id} passed its ${steps.length} step(s) (${why}); replacing the other replicas by revision ${s.to}` }],
    reason: Reason.PROMOTED,
  };
}

/**
 * The traffic steps: bring up the step replicas of the target beside the old ones (no share yet), then hold each
 * step's weight for its pause and its gate. Old replicas that serve stay; nothing of theirs is retired but idle ones.
 */
function observeStep(
  s: RolloutState,
  e: Extract<RolloutEvent, { type: "observe" }>,
  now: number,
  tgt: readonly ReplicaObservation[],
  others: readonly ReplicaObservation[],
  available: readonly ReplicaObservation[],
): Decision {
  const o = s.options;
  const steps = stepsOf(o);
  const i = s.step!;
  const want = stepReplicaCount(o.stepReplicas, e.desired);
  const actions: RolloutAction[] = [];
  for (const r of others) if (!serving(r)) actions.push({ kind: "retire", id: r.id });
  const excess = tgt.length + e.launching - want;
  if (excess > 0) [...tgt].sort((a, b) => Number(available.includes(a)) - Number(available.includes(b)) || b.id - a.id).slice(0, excess).forEach((r) => actions.push({ kind: "retire", id: r.id }));
  const launch = want - tgt.length - e.launching;
  if (launch > 0) actions.push({ kind: "launch", revision: s.target, count: launch });

  if (s.stepAt === null || s.stepAt === undefined) {
    if (available.length >= want && launch <= 0) {
      const w = steps[i]!.weight;
      return {
        state: { ...s, stepAt: now, split: { revision: s.to, percent: w }, reason: Reason.STEP, updatedAt: now, progressAt: now },
        actions: [...actions, { kind: "announce", type: "deploy.step", severity: "info", message: `${s.app}: rollout ${s.id} step ${i + 1}/${steps.length}: revision ${s.to} takes ${w}% of the traffic (${available.length} replica(s) available)` }],
        reason: Reason.STEP,
      };
    }
    let progressAt = s.progressAt;
    const best = { available: Math.max(s.best.available, available.length), others: s.best.others };
    if (best.available > s.best.available) progressAt = now;
    if (now - progressAt > o.progressDeadlineMs) return fail(s, now, Reason.PROGRESS_DEADLINE, `made no progress within progress_deadline (${o.progressDeadlineMs} ms)`);
    const changed = actions.length > 0 || progressAt !== s.progressAt;
    return { state: changed ? { ...s, progressAt, best, reason: Reason.PROGRESSING, updatedAt: now } : s, actions, reason: Reason.PROGRESSING };
  }

  // Holding the step: time spent here is deliberate, not a lack of progress.
  const step = steps[i]!;
  const held = now - s.stepAt >= (step.pauseMs ?? Number.POSITIVE_INFINITY);
  // With analysis on, a step that sends traffic passes only on evidence: the target has served min_requests.
  const judged = !o.analysis || step.weight === 0 || (e.traffic !== undefined && e.traffic.target.requests >= o.analysis.minRequests);
  if (held && judged && available.length >= want) {
    const d = advance(s, now, `held ${Math.round((now - s.stepAt) / 1000)} s${o.analysis && step.weight > 0 ? ", analysis passed" : ""}`);
    return { ...d, actions: [...actions, ...d.actions] };
  }
  const reason = step.pauseMs === null ? Reason.AWAITING_PROMOTE : Reason.STEP;
  return { state: actions.length > 0 || reason !== s.reason ? { ...s, progressAt: now, reason, updatedAt: now } : { ...s, progressAt: now }, actions, reason };
}

/**
 * Replicas of the new revision the steps run beside the old ones, for `desired` replicas: all of them, a count (at
 * most the desired), or a percent of the desired (rounded up, at least 1), which follows the desired count as it
 * scales.
 */
export function stepReplicaCount(n: RolloutOptions["stepReplicas"], desired: number): number {
  if (n === "all" || n === undefined) return desired;
  if (typeof n === "number") return Math.max(1, Math.min(n, desired));
  return Math.max(1, Math.min(desired, Math.ceil((desired * n.percent) / 100)));
}

/** The analysis gate: null when the new revision passes (or has not served enough to be judged). */
export function analyse(a: AnalysisOptions, t: RevisionTraffic, old: RevisionTraffic): { reason: Reason; what: string } | null {
  if (t.requests < a.minRequests) return null;
  const errT = t.failures / t.requests;
  const errO = old.requests > 0 ? old.failures / old.requests : 0;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  if (errT > errO + a.maxErrorRatio) {
    return { reason: Reason.ANALYSIS_ERRORS, what: `failed analysis: ${pct(errT)} of its ${t.requests} requests failed against ${pct(errO)} for the old revision (max_error_ratio ${a.maxErrorRatio})` };
  }
  if (old.requests < a.minRequests) return null;
  // p95 first: a revision slower throughout fails on it; p99 catches a tail the p95 hides (1 request in 50 stalls).
  if (t.p95Ms > Math.max(old.p95Ms, LATENCY_FLOOR_MS) * a.maxLatencyRatio) {
    return { reason: Reason.ANALYSIS_LATENCY, what: `failed analysis: p95 latency ${t.p95Ms.toFixed(1)} ms against ${old.p95Ms.toFixed(1)} ms for the old revision (max_latency_ratio ${a.maxLatencyRatio})` };
  }
  const r99 = a.maxP99Ratio ?? a.maxLatencyRatio;
  if (t.p99Ms > Math.max(old.p99Ms, LATENCY_FLOOR_MS) * r99) {
    return { reason: Reason.ANALYSIS_LATENCY, what: `failed analysis: p99 latency ${t.p99Ms.toFixed(1)} ms against ${old.p99Ms.toFixed(1)} ms for the old revision (max_p99_ratio ${r99})` };
  }
  return null;
}
