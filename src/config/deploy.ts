// An app's `deploy:` block (how a new revision replaces the running one) and its mapping to the rollout
// controller's options (src/core/deploy/rollout.ts).
import { Effect, Schema } from "effect";
import type { RolloutOptions } from "../core/deploy/rollout.ts";
import { Duration } from "./units.ts";

const def = <S extends Schema.Top>(schema: S, value: S["Encoded"]) => Schema.withDecodingDefaultKey<S>(Effect.succeed(value))(schema);
const Count = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 }));

const Strategy = Schema.Literals(["rolling", "canary", "blue_green"]);

/** One canary step: the new revision's share of the traffic at the balancers, held for `pause` (none: until promoted). */
const CanaryStep = Schema.Struct({
  weight: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 100 })),
  pause: Schema.optionalKey(Duration),
});

const Canary = Schema.Struct({
  /** Replicas of the new revision started beside the old ones for the steps: a count, or a percent of the desired ("25%", rounded up). */
  replicas: def(
    Schema.Union([
      Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })),
      Schema.String.check(Schema.isPattern(/^([1-9][0-9]?|100)%$/, { message: 'Expected a count (1-1000) or a percent of the desired replicas such as "25%" (1%-100%)' })),
    ]),
    1,
  ),
  steps: def(Schema.Array(CanaryStep).check(Schema.isMinLength(1), Schema.isMaxLength(20)), [
    { weight: 5, pause: "1m" },
    { weight: 25, pause: "1m" },
    { weight: 50, pause: "1m" },
  ]),
});

/** The analysis thresholds a key left out takes (the config file's and a deployment's strategy override). */
export const ANALYSIS_DEFAULTS = { max_error_ratio: 0.05, max_latency_ratio: 3, min_requests: 50 } as const;

export const Deploy = Schema.Struct({
  strategy: def(Strategy, "rolling"),
  /** Replicas of the new revision started beyond the desired count at once. */
  max_surge: def(Count, 1),
  /** Replicas of the old revision that may stop before their replacements are available. */
  max_unavailable: def(Count, 0),
  /** A new replica counts as available once ready and passing its checks this long. */
  min_healthy_time: def(Duration, "5s"),
  /** A new replica not available this long after it started fails the rollout. */
  healthy_deadline: def(Duration, "2m"),
  /** The rollout fails when no replica became available (or was retired) for this long. */
  progress_deadline: def(Duration, "10m"),
  /** A failed rollout rolls back to the revision it replaced. */
  auto_revert: def(Schema.Boolean, true),
  /**
   * Compare the new revision's traffic at the balancers with the old one's over the last 10 s; a failed comparison
   * fails the rollout (as a crash does). Off unless given.
   */
  analysis: Schema.optionalKey(
    Schema.Struct({
      /** Its failure ratio (5xx + gateway failures) may exceed the old revision's by at most this (0.05: 5 points). */
      max_error_ratio: def(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })), ANALYSIS_DEFAULTS.max_error_ratio),
      /** Its p95 latency may be at most this many times the old revision's. */
      max_latency_ratio: def(Schema.Number.check(Schema.isGreaterThanOrEqualTo(1)), ANALYSIS_DEFAULTS.max_latency_ratio),
      /** Its p99 latency may be at most this many times the old revision's (default: max_latency_ratio). */
      max_p99_ratio: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(1))),
      /** Requests it must have served in the window before it is judged. */
      min_requests: def(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 })), ANALYSIS_DEFAULTS.min_requests),
    }),
  ),
  /** canary: the canary replicas and the traffic steps they walk before the rest is replaced. */
  canary: Schema.optionalKey(Canary),
  /** blue_green: how long the old set stays up (out of traffic, ready to take it back) after the switch. */
  rollback_window: def(Duration, "5m"),
  /** Off: canary steps and the blue_green switch wait for `promote` (after their pause). */
  auto_promote: def(Schema.Boolean, true),
  /** Revisions kept per app (the running one and the one it replaced are always kept). */
  revision_history: def(Schema.Int.check(Schema.isBetween({ minimum: 2, maximum: 100 })), 10),
}).check(
  Schema.makeFilter((d: { max_surge: number; max_unavailable: number }) =>
    d.max_surge + d.max_unavailable >= 1 ? undefined : { path: ["max_surge"], issue: "max_surge and max_unavailable are both 0: a rollout could never start or stop a replica; make one of them at least 1" },
  ),
);

export type DeployConfig = typeof Deploy.Type;

/** The traffic steps of a strategy (none for rolling). */
function stepsFor(d: DeployConfig): Pick<RolloutOptions, "strategy" | "steps" | "stepReplicas"> {
  if (d.strategy === "canary") {
    const c = d.canary ?? { replicas: 1, steps: [{ weight: 5, pause: 60_000 }, { weight: 25, pause: 60_000 }, { weight: 50, pause: 60_000 }] };
    const replicas = typeof c.replicas === "string" ? { percent: Number(c.replicas.slice(0, -1)) } : c.replicas;
    return { strategy: "canary", stepReplicas: replicas, steps: c.steps.map((s) => ({ weight: s.weight, pauseMs: d.auto_promote && s.pause !== undefined ? s.pause : null })) };
  }
  if (d.strategy === "blue_green") {
    // The full new set comes up with no traffic; the switch gives it all; the old set waits out the window.
    const switchStep = { weight: 100, pauseMs: d.rollback_window };
    return { strategy: "blue_green", stepReplicas: "all", steps: d.auto_promote ? [switchStep] : [{ weight: 0, pauseMs: null }, switchStep] };
  }
  return { strategy: "rolling", steps: null };
}

export function toRolloutOptions(d: DeployConfig): RolloutOptions {
  return {
    ...stepsFor(d),
    maxSurge: d.max_surge,
    maxUnavailable: d.max_unavailable,
    minHealthyMs: d.min_healthy_time,
    healthyDeadlineMs: d.healthy_deadline,
    progressDeadlineMs: d.progress_deadline,
    autoRevert: d.auto_revert,
    analysis: d.analysis ? { maxErrorRatio: d.analysis.max_error_ratio, maxLatencyRatio: d.analysis.max_latency_ratio, maxP99Ratio: d.analysis.max_p99_ratio ?? d.analysis.max_latency_ratio, minRequests: d.analysis.min_requests } : null,
  };
}
