// Crash-loop budget: more than N restarts of one app within a sliding window stops its restarts
// until a cooldown passes or an operator resets it.
//
// The budget is per app, not per replica: a bad build or a missing dependency crashes every replica
// the same way, and counting them together stops the churn sooner. Defaults: 10 restarts in 60 s,
// cooldown 5 min (systemd's default is stricter: 5 starts in 10 s, then it gives up for good).
//
//   counting ──(restarts in window > max)──▶ tripped ──(cooldown elapsed | operator reset)──▶ counting

export interface CrashLoopOptions {
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly cooldownMs: number;
}

export const DEFAULT_CRASH_LOOP: CrashLoopOptions = {
  maxRestarts: 10,
  windowMs: 60_000,
  cooldownMs: 5 * 60_000,
};

export interface CrashLoopState {
  /** Times of restarts still inside the window, oldest first (at most maxRestarts + 1 kept). */
  readonly restarts: readonly number[];
  /** When the budget was exhausted, or null while counting. */
  readonly trippedAt: number | null;
}

export const INITIAL_CRASH_LOOP: CrashLoopState = { restarts: [], trippedAt: null };

/** Count one more restart at `now`; trips the budget when it is exceeded. */
export function recordRestart(opts: CrashLoopOptions, state: CrashLoopState, now: number): CrashLoopState {
  const inWindow = state.restarts.filter((t) => now - t < opts.windowMs);
  inWindow.push(now);
  const kept = inWindow.slice(-(opts.maxRestarts + 1));
  const tripped = kept.length > opts.maxRestarts;
  return { restarts: kept, trippedAt: tripped ? (state.trippedAt ?? now) : state.trippedAt };
}

export function isTripped(state: CrashLoopState): boolean {
  return state.trippedAt !== null;
}

export function cooldownElapsed(opts: CrashLoopOptions, state: CrashLoopState, now: number): boolean {
  return state.trippedAt !== null && now - state.trippedAt >= opts.cooldownMs;
}

/** Time left until the cooldown ends (0 when not tripped or already over). */
export function cooldownRemaining(opts: CrashLoopOptions, state: CrashLoopState, now: number): number {
  if (state.trippedAt === null) return 0;
  return Math.max(0, state.trippedAt + opts.cooldownMs - now);
}
