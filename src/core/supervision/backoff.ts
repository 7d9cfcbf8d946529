// Restart delay: exponential backoff with decorrelated jitter, capped, forgotten once a replica stays up.
//
// Defaults, next to two well-known supervisors:
// - PM2 (`exp_backoff_restart_delay`): grows ×1.5 up to a 15 s cap, resets after the app stayed up 30 s.
// - systemd (`StartLimitBurst=5`, `StartLimitIntervalSec=10s`): no growth by default, gives up after
//   5 starts in 10 s (our crash-loop budget in crash-loop.ts plays that role).
// Ours: the first restart after a stable run is immediate (as PM2's default and the Node cluster master do;
// one crash is not a loop), then 100 ms, factor 2, cap 15 s, reset after 30 s up.
//
// Jitter: decorrelated by default. Each delay is drawn uniformly from [initial, previous × (factor + 1)],
// then capped. Why not full jitter (uniform in [0, initial × factor^n])? Full jitter can draw ~0 ms
// after a long run of crashes, so a broken replica respawns in a tight loop exactly when it should
// not; decorrelated keeps the initial delay as a floor while still spreading the replicas of one app
// apart (they often crash together when a shared dependency goes away). Full jitter stays available.
import type { Rng } from "../time.ts";

export type Jitter = "decorrelated" | "full" | "none";

export interface BackoffOptions {
  readonly initialMs: number;
  readonly factor: number;
  readonly capMs: number;
  readonly jitter: Jitter;
  /** A replica that stayed up this long has its backoff forgotten. */
  readonly stableMs: number;
  /** Restart at once the first time (after a reset); back off from the second consecutive crash on. */
  readonly immediateFirst: boolean;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 100,
  factor: 2,
  capMs: 15_000,
  jitter: "decorrelated",
  stableMs: 30_000,
  // Off in the pure default so a bare schedule is the plain exponential one; the agent's config turns it on.
  immediateFirst: false,
};

export interface BackoffState {
  /** Restarts since the last reset. */
  readonly attempt: number;
  /** Delay handed out last time (0 before the first). */
  readonly prevDelayMs: number;
}

export const INITIAL_BACKOFF: BackoffState = { attempt: 0, prevDelayMs: 0 };

/** Next delay and the state after handing it out. */
export function nextBackoff(
  opts: BackoffOptions,
  state: BackoffState,
  rng: Rng,
): { delayMs: number; state: BackoffState } {
  if (opts.immediateFirst && state.attempt === 0) return { delayMs: 0, state: { attempt: 1, prevDelayMs: 0 } };
  const ceiling = Math.min(opts.capMs, opts.initialMs * opts.factor ** state.attempt);
  let delay: number;
  switch (opts.jitter) {
    case "none":
      delay = ceiling;
      break;
    case "full":
      delay = rng.next() * ceiling;
      break;
    case "decorrelated": {
      const prev = state.prevDelayMs || opts.initialMs;
      const hi = Math.max(opts.initialMs, prev * (opts.factor + 1));
      delay = opts.initialMs + rng.next() * (hi - opts.initialMs);
      break;
    }
  }
  const delayMs = Math.round(Math.min(opts.capMs, delay));
  return { delayMs, state: { attempt: state.attempt + 1, prevDelayMs: delayMs } };
}

/** Forget past crashes when the replica ran for the stable period before this exit. */
export function settleBackoff(opts: BackoffOptions, state: BackoffState, upMs: number): BackoffState {
  return upMs >= opts.stableMs ? INITIAL_BACKOFF : state;
}
