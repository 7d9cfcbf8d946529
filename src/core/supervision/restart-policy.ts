// Restart decisions for one replica: what to do after it exits, fails to spawn, or is told to stop.
//
// decide(state, event, now, rng) is pure: it returns the action, the delay, a named reason and the
// next state; the procs manager does the I/O. Rules, in order:
// 1. A stop requested by the operator never restarts.
// 2. While the app is in crash-loop nothing restarts until the cooldown passes or an operator resets.
// 3. Mode `never` never restarts; `on-failure` restarts unless the exit was code 0; `always` restarts.
//    A kill by signal, a failed spawn, and our own kills (memory, watchdog, readiness) are failures.
// 4. An unstable restart (the run never became ready, or ended within min uptime) is counted against the slot's
//    crash-loop budget; every restart is delayed by the backoff, which starts over after a stable run that was
//    killed from outside (a signal we did not send).
// The policy in the state is the one in force: the caller puts the app's current policy there before deciding
// (a reload or an adoption must not leave a slot on an older one).
import type { Rng } from "../time.ts";
import {
  type BackoffOptions,
  type BackoffState,
  DEFAULT_BACKOFF,
  INITIAL_BACKOFF,
  nextBackoff,
  settleBackoff,
} from "./backoff.ts";
import {
  type CrashLoopOptions,
  type CrashLoopState,
  DEFAULT_CRASH_LOOP,
  INITIAL_CRASH_LOOP,
  cooldownElapsed,
  cooldownRemaining,
  isTripped,
  recordRestart,
  unstableRun,
} from "./crash-loop.ts";

export type RestartMode = "always" | "on-failure" | "never";

export const Reason = {
  STOP_REQUESTED: "stop-requested",
  MODE_NEVER: "mode-never",
  CLEAN_EXIT: "clean-exit",
  RESTART_ALWAYS: "restart-always",
  EXIT_FAILURE: "exit-failure",
  KILLED_BY_SIGNAL: "killed-by-signal",
  SPAWN_FAILED: "spawn-failed",
  MEMORY_LIMIT: "memory-limit",
  /** The kernel's OOM killer ended a process of the replica's cgroup at its memory limit. */
  OOM_KILLED: "oom-killed",
  WATCHDOG_TIMEOUT: "watchdog-timeout",
  READINESS_TIMEOUT: "readiness-timeout",
  VANISHED: "vanished",
  CRASH_LOOP: "crash-loop",
  IN_CRASH_LOOP: "in-crash-loop",
  COOLDOWN_ELAPSED: "cooldown-elapsed",
  OPERATOR_RESET: "operator-reset",
  NOTHING_TO_DO: "nothing-to-do",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Why we (or, for oom-killed, the kernel at a limit we set) killed a replica (absent when it exited on its own); each is also the Reason its exit gets. */
export const KILL_CAUSES = [Reason.MEMORY_LIMIT, Reason.WATCHDOG_TIMEOUT, Reason.READINESS_TIMEOUT, Reason.VANISHED, Reason.OOM_KILLED] as const;
export type KillCause = (typeof KILL_CAUSES)[number];

export type RestartEvent =
  | { readonly type: "exited"; readonly code: number | null; readonly signal: string | null; readonly upMs: number; readonly cause?: KillCause; readonly wasReady?: boolean }
  | { readonly type: "spawn-failed"; readonly message: string }
  | { readonly type: "stop-requested" }
  | { readonly type: "cooldown-check" }
  | { readonly type: "reset" };

export interface RestartPolicy {
  readonly mode: RestartMode;
  readonly backoff: BackoffOptions;
  readonly crashLoop: CrashLoopOptions;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  mode: "always",
  backoff: DEFAULT_BACKOFF,
  crashLoop: DEFAULT_CRASH_LOOP,
};

export interface RestartState {
  readonly policy: RestartPolicy;
  /** Per replica. */
  readonly backoff: BackoffState;
  /** This slot's budget. */
  readonly crashLoop: CrashLoopState;
  readonly stopRequested: boolean;
}

export type RestartAction = "restart" | "stop" | "crash-loop" | "none";

export interface Decision {
  readonly action: RestartAction;
  readonly delayMs: number;
  readonly reason: Reason;
  readonly next: RestartState;
}

export function initialRestartState(policy: RestartPolicy = DEFAULT_RESTART_POLICY): RestartState {
  return { policy, backoff: INITIAL_BACKOFF, crashLoop: INITIAL_CRASH_LOOP, stopRequested: false };
}

const causeReason: Record<KillCause, Reason> = {
  "memory-limit": Reason.MEMORY_LIMIT,
  "watchdog-timeout": Reason.WATCHDOG_TIMEOUT,
  "readiness-timeout": Reason.READINESS_TIMEOUT,
  vanished: Reason.VANISHED,
  "oom-killed": Reason.OOM_KILLED,
};

/** Classify an end of life: the reason it names and whether it counts as a failure. */
function classify(event: RestartEvent & { type: "exited" | "spawn-failed" }): { reason: Reason; failed: boolean } {
  if (event.type === "spawn-failed") return { reason: Reason.SPAWN_FAILED, failed: true };
  if (event.cause) return { reason: causeReason[event.cause], failed: true };
  if (event.signal !== null) return { reason: Reason.KILLED_BY_SIGNAL, failed: true };
  if (event.code !== 0) return { reason: Reason.EXIT_FAILURE, failed: true };
  return { reason: Reason.CLEAN_EXIT, failed: false };
}

export function decide(state: RestartState, event: RestartEvent, now: number, rng: Rng): Decision {
  const { policy } = state;
  const out = (action: RestartAction, delayMs: number, reason: Reason, next: RestartState = state): Decision => ({
    action,
    delayMs,
    reason,
    next,
  });

  switch (event.type) {
    case "stop-requested":
      return out("stop", 0, Reason.STOP_REQUESTED, { ...state, stopRequested: true });
    case "reset":
      return out("restart", 0, Reason.OPERATOR_RESET, {
        ...state,
        backoff: INITIAL_BACKOFF,
        crashLoop: INITIAL_CRASH_LOOP,
        stopRequested: false,
      });
    case "cooldown-check":
      if (!isTripped(state.crashLoop)) return out("none", 0, Reason.NOTHING_TO_DO);
      if (cooldownElapsed(policy.crashLoop, state.crashLoop, now)) {
        return out("restart", 0, Reason.COOLDOWN_ELAPSED, {
          ...state,
          backoff: INITIAL_BACKOFF,
          crashLoop: INITIAL_CRASH_LOOP,
        });
      }
      return out("crash-loop", cooldownRemaining(policy.crashLoop, state.crashLoop, now), Reason.IN_CRASH_LOOP);
    case "exited":
    case "spawn-failed": {
      if (state.stopRequested) return out("stop", 0, Reason.STOP_REQUESTED);
      if (isTripped(state.crashLoop)) {
        return out("crash-loop", cooldownRemaining(policy.crashLoop, state.crashLoop, now), Reason.IN_CRASH_LOOP);
      }
      const { reason, failed } = classify(event);
      if (policy.mode === "never") return out("stop", 0, Reason.MODE_NEVER);
      if (policy.mode === "on-failure" && !failed) return out("stop", 0, Reason.CLEAN_EXIT);
      const upMs = event.type === "exited" ? event.upMs : 0;
      const wasReady = event.type === "exited" && event.wasReady === true;
      const unstable = unstableRun(policy.crashLoop, wasReady, upMs);
      const crashLoop = unstable ? recordRestart(policy.crashLoop, state.crashLoop, now) : state.crashLoop;
      // Killed from outside (a signal we did not send) after a stable run: nothing about the replica is wrong, so
      // its backoff starts over instead of growing with every kill (a chaos monkey must not starve the pool).
      const externalKill = event.type === "exited" && event.signal !== null && event.cause === undefined;
      const settled = !unstable && externalKill ? INITIAL_BACKOFF : settleBackoff(policy.backoff, state.backoff, upMs);
      if (isTripped(crashLoop)) {
        return out("crash-loop", policy.crashLoop.cooldownMs, Reason.CRASH_LOOP, { ...state, crashLoop, backoff: settled });
      }
      const b = nextBackoff(policy.backoff, settled, rng);
      return out("restart", b.delayMs, failed ? reason : Reason.RESTART_ALWAYS, { ...state, crashLoop, backoff: b.state });
    }
  }
}
