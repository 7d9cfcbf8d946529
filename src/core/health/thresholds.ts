// The one threshold decorator (Consul's StatusHandler): counts successes and failures, reports the first
// result at once and then only transitions that the counters allow.
//
// A warning result counts as a success, like Consul: it is reported as warning once the success count
// is reached. A critical result reports warning after failuresBeforeWarning consecutive failures and
// critical after failuresBeforeCritical; a success resets the failure count and vice versa.
import type { Status } from "./status.ts";

export interface ThresholdOptions {
  /** Consecutive successes needed before a non-passing check reports passing (default 1). */
  successBeforePassing?: number;
  /** Consecutive failures before warning (default: same as failuresBeforeCritical, i.e. never earlier). */
  failuresBeforeWarning?: number;
  /** Consecutive failures before critical (default 1). */
  failuresBeforeCritical?: number;
}

export interface Transition {
  /** null for the very first result of a check. */
  from: Status | null;
  to: Status;
}

export interface Thresholds {
  /** Feeds one probe result; returns the transition it causes, or null when the reported status holds. */
  observe(result: Status): Transition | null;
  /** Status last reported, null before the first result. */
  readonly current: Status | null;
}

export const THRESHOLD_DEFAULTS = { successBeforePassing: 1, failuresBeforeCritical: 1 } as const;

export function createThresholds(options: ThresholdOptions = {}): Thresholds {
  const successNeeded = Math.max(1, options.successBeforePassing ?? THRESHOLD_DEFAULTS.successBeforePassing);
  const criticalAfter = Math.max(1, options.failuresBeforeCritical ?? THRESHOLD_DEFAULTS.failuresBeforeCritical);
  const warningAfter = Math.max(1, options.failuresBeforeWarning ?? criticalAfter);
  let current: Status | null = null;
  let successes = 0;
  let failures = 0;

  function report(to: Status): Transition | null {
    if (to === current) return null;
    const t = { from: current, to };
    current = to;
    return t;
  }

  return {
    get current() {
      return current;
    },
    observe: function observeThreshold(result) {
      if (result === "critical") {
        failures++;
        successes = 0;
      } else {
        successes++;
        failures = 0;
      }
      if (current === null) return report(result);
      if (result !== "critical") return successes >= successNeeded ? report(result) : null;
      if (failures >= criticalAfter) return report("critical");
      // Only step down to warning from passing; a check already critical stays critical.
      if (failures >= warningAfter && current === "passing") return report("warning");
      return null;
    },
  };
}
