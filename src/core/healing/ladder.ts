// The recovery ladder of one target (a replica or endpoint), as a pure state machine: an unhealthy verdict climbs
// restart -> replace -> scale out -> failover, each rung tried `attempts` times with backoff between tries, and
// raises an alert once when the last rung is spent. A healthy verdict held for `recoverAfterMs` (hysteresis) ends
// the episode and undoes what is temporary (extra capacity, failover). Every step names its reason.
//
//   healthy --unhealthy--> climbing(rung, attempt) --tick past backoff--> next attempt | next rung | exhausted
//   climbing/exhausted --healthy held recoverAfterMs--> healthy (with undo actions)
//   climbing --skipped (the rung does not apply to this target)--> next rung at once

export const RUNGS = ["restart", "replace", "scale_out", "failover"] as const;
export type Rung = (typeof RUNGS)[number];

export interface RungConfig {
  readonly rung: Rung;
  readonly attempts: number;
  /** Wait after an attempt before the next one (doubled per attempt on the same rung). */
  readonly backoffMs: number;
}

export interface LadderConfig {
  readonly rungs: readonly RungConfig[];
  readonly recoverAfterMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_LADDER: LadderConfig = {
  rungs: [
    { rung: "restart", attempts: 2, backoffMs: 5_000 },
    { rung: "replace", attempts: 1, backoffMs: 15_000 },
    { rung: "scale_out", attempts: 1, backoffMs: 30_000 },
    { rung: "failover", attempts: 1, backoffMs: 30_000 },
  ],
  recoverAfterMs: 30_000,
  maxBackoffMs: 300_000,
};

export const Reason = {
  BecameUnhealthy: "became_unhealthy",
  RetryRung: "retry_rung",
  NextRung: "next_rung",
  Exhausted: "ladder_exhausted",
  Waiting: "waiting_backoff",
  Recovering: "recovering",
  Relapsed: "relapsed",
  Recovered: "recovered",
  Healthy: "healthy",
  /** The rung does not apply to the target (no scaling room, no backup endpoints): the next one is taken at once. */
  Skipped: "rung_skipped",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export type LadderAction =
  | { readonly type: Rung; readonly attempt: number }
  | { readonly type: "alert" }
  | { readonly type: "scale_in" }
  | { readonly type: "failback" };

export interface LadderState {
  readonly phase: "healthy" | "climbing" | "exhausted";
  /** Index into config.rungs while climbing. */
  readonly rung: number;
  readonly attempt: number;
  readonly nextAt: number;
  readonly since: number;
  /** When a healthy verdict started during an episode (hysteresis). */
  readonly recoveringSince?: number;
  readonly scaledOut: boolean;
  readonly failedOver: boolean;
}

export type LadderEvent = { readonly type: "verdict"; readonly healthy: boolean } | { readonly type: "tick" } | { readonly type: "skipped" };

export interface LadderDecision {
  readonly state: LadderState;
  readonly actions: readonly LadderAction[];
  readonly reason: Reason;
}

export const initialLadder = (now: number): LadderState => ({ phase: "healthy", rung: 0, attempt: 0, nextAt: 0, since: now, scaledOut: false, failedOver: false });

const backoff = (cfg: LadderConfig, r: RungConfig, attempt: number) => Math.min(cfg.maxBackoffMs, r.backoffMs * 2 ** Math.max(0, attempt - 1));

/** Takes the rung at `index`, attempt 1 (or exhausts the ladder). */
function climb(s: LadderState, cfg: LadderConfig, index: number, now: number, reason: Reason): LadderDecision {
  const r = cfg.rungs[index];
  if (!r) return { state: { ...s, phase: "exhausted", nextAt: Infinity }, actions: [{ type: "alert" }], reason: Reason.Exhausted };
  const state: LadderState = {
    ...s,
    phase: "climbing",
    rung: index,
    attempt: 1,
    nextAt: now + backoff(cfg, r, 1),
    scaledOut: s.scaledOut || r.rung === "scale_out",
    failedOver: s.failedOver || r.rung === "failover",
  };
  return { state, actions: [{ type: r.rung, attempt: 1 }], reason };
}

export function decide(s: LadderState, e: LadderEvent, now: number, cfg: LadderConfig = DEFAULT_LADDER): LadderDecision {
  if (e.type === "verdict") {
    if (!e.healthy) {
      if (s.phase === "healthy") return climb({ ...s, since: now }, cfg, 0, now, Reason.BecameUnhealthy);
      if (s.recoveringSince !== undefined) {
        const { recoveringSince: _r, ...rest } = s;
        return { state: rest, actions: [], reason: Reason.Relapsed };
      }
      return { state: s, actions: [], reason: Reason.Waiting };
    }
    if (s.phase === "healthy") return { state: s, actions: [], reason: Reason.Healthy };
    const since = s.recoveringSince ?? now;
    if (now - since >= cfg.recoverAfterMs) return recovered(s, now);
    return { state: { ...s, recoveringSince: since }, actions: [], reason: Reason.Recovering };
  }
  if (e.type === "skipped") {
    if (s.phase !== "climbing") return { state: s, actions: [], reason: s.phase === "exhausted" ? Reason.Exhausted : Reason.Healthy };
    // The rung did nothing, so it undoes nothing either.
    const r = cfg.rungs[s.rung];
    // A state kept from a longer ladder (the rungs were shortened since): no rung is left after this one.
    if (!r) return climb(s, cfg, cfg.rungs.length, now, Reason.Skipped);
    const undone = { ...s, scaledOut: r.rung === "scale_out" ? false : s.scaledOut, failedOver: r.rung === "failover" ? false : s.failedOver };
    return climb(undone, cfg, s.rung + 1, now, Reason.Skipped);
  }
  // tick
  if (s.phase === "healthy") return { state: s, actions: [], reason: Reason.Healthy };
  if (s.recoveringSince !== undefined) {
    if (now - s.recoveringSince >= cfg.recoverAfterMs) return recovered(s, now);
    return { state: s, actions: [], reason: Reason.Recovering };
  }
  if (s.phase === "exhausted" || now < s.nextAt) return { state: s, actions: [], reason: s.phase === "exhausted" ? Reason.Exhausted : Reason.Waiting };
  const r = cfg.rungs[s.rung];
  if (!r) return climb(s, cfg, cfg.rungs.length, now, Reason.NextRung);
  if (s.attempt < r.attempts) {
    const attempt = s.attempt + 1;
    return { state: { ...s, attempt, nextAt: now + backoff(cfg, r, attempt) }, actions: [{ type: r.rung, attempt }], reason: Reason.RetryRung };
  }
  return climb(s, cfg, s.rung + 1, now, Reason.NextRung);
}

function recovered(s: LadderState, now: number): LadderDecision {
  const actions: LadderAction[] = [];
  if (s.failedOver) actions.push({ type: "failback" });
  if (s.scaledOut) actions.push({ type: "scale_in" });
  return { state: initialLadder(now), actions, reason: Reason.Recovered };
}
