// Crash-loop budget of one replica slot: more than N unstable restarts within a sliding window stops that
// slot's restarts until a cooldown passes or an operator resets it.
//
// The budget is per slot, as systemd's StartLimit is per unit and PM2's max_restarts per process: one replica
// that keeps dying must not pause its healthy siblings. The app-level verdict ("the app is in crash-loop") is
// derived from the slots: it holds while most of them are looping (see appInCrashLoop).
//
// Only unstable restarts count (PM2's min_uptime): a run that never became ready, or ended within minUptimeMs of
// its start. A replica that was serving and is then killed from outside is restarted (with backoff) but is not
// a crash loop. Defaults: 10 unstable restarts in 60 s, cooldown 5 min, min uptime 1 s (PM2's default; systemd
// is stricter: 5 starts in 10 s, then it gives up for good).
//
//   counting ──(unstable restarts in window > max)──▶ tripped ──(cooldown elapsed | operator reset)──▶ counting

export interface CrashLoopOptions {
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly cooldownMs: number;
  /** A run that was ready and lasted at least this long is stable: its restart is not counted. */
  readonly minUptimeMs: number;
}

export const DEFAULT_CRASH_LOOP: CrashLoopOptions = {
  maxRestarts: 10,
  windowMs: 60_000,
  cooldownMs: 5 * 60_000,
  minUptimeMs: 1_000,
};

/** Whether a run's end counts against the budget. */
export function unstableRun(opts: CrashLoopOptions, wasReady: boolean, upMs: number): boolean {
  return !wasReady || upMs < opts.minUptimeMs;
}

/** The app-level verdict: most of the app's slots (a strict majority of those wanted) are looping. */
export function appInCrashLoop(loopingSlots: number, wantedSlots: number): boolean {
  return loopingSlots > 0 && loopingSlots * 2 > Math.max(1, wantedSlots);
}

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
