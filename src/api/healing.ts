// /v1/healing: the built-in recovery ladder (its rungs, as configured or the default) and every replica that has
// one going: its phase and rung, the last verdict, the next step and when, what must be undone, and its history.
import { Schema } from "effect";
import { Hono } from "hono";
import type { HealingConfig } from "../config/schema.ts";
import type { HealingRunner, HealingView } from "../healing/runner.ts";
import { ApiError } from "./errors.ts";
import { defineRoute, param } from "./route.ts";

const iso = (ms: number) => new Date(ms).toISOString();

const Step = Schema.Struct({
  at: Schema.String,
  action: Schema.String.annotate({ description: "verdict, restart, replace, scale_out, failover, alert, scale_in, failback or recovered" }),
  attempt: Schema.optionalKey(Schema.Number),
  reason: Schema.String,
  outcome: Schema.String.annotate({ description: "pending (decided and persisted, not acted on yet), done, skipped or failed" }),
  detail: Schema.optionalKey(Schema.String),
});
const TargetView = Schema.Struct({
  target: Schema.String.annotate({ description: "<app>-<replica>; follows the replica to its fresh slot after a replace" }),
  app: Schema.String,
  replica: Schema.Number,
  phase: Schema.Literals(["healthy", "climbing", "exhausted"]),
  rung: Schema.optionalKey(Schema.String),
  attempt: Schema.Number,
  next: Schema.optionalKey(Schema.Struct({ at: Schema.String, step: Schema.String })),
  since: Schema.String,
  recoveringSince: Schema.optionalKey(Schema.String),
  verdict: Schema.optionalKey(Schema.Struct({ healthy: Schema.NullOr(Schema.Boolean), reason: Schema.String, at: Schema.String })),
  scaledOut: Schema.Boolean,
  failedOver: Schema.Array(Schema.String),
  alert: Schema.optionalKey(Schema.String),
  history: Schema.Array(Step),
});
const Ladder = Schema.Struct({
  source: Schema.Literals(["builtin", "config"]).annotate({ description: "builtin: the default rungs; config: healing.rungs" }),
  enabled: Schema.Boolean,
  rungs: Schema.Array(Schema.Struct({ rung: Schema.String, attempts: Schema.Number, backoffMs: Schema.Number })),
  unhealthyForMs: Schema.Number,
  recoverAfterMs: Schema.Number,
  maxBackoffMs: Schema.Number,
  exclude: Schema.Array(Schema.String),
});
const Overview = Schema.Struct({ ladder: Ladder, lastEvaluation: Schema.optionalKey(Schema.String), targets: Schema.Array(TargetView) });

export interface HealingRouteDeps {
  readonly runner: Pick<HealingRunner, "views" | "ladder" | "lastEvaluation">;
  config(): HealingConfig;
}

function targetView(v: HealingView) {
  return {
    target: v.target,
    app: v.app,
    replica: v.replica,
    phase: v.phase,
    ...(v.rung ? { rung: v.rung } : {}),
    attempt: v.attempt,
    ...(v.next && Number.isFinite(v.next.at) ? { next: { at: iso(v.next.at), step: v.next.step } } : {}),
    since: iso(v.since),
    ...(v.recoveringSince !== undefined ? { recoveringSince: iso(v.recoveringSince) } : {}),
    ...(v.verdict ? { verdict: { healthy: v.verdict.healthy, reason: v.verdict.reason, at: iso(v.verdict.at) } } : {}),
    scaledOut: v.scaledOut,
    failedOver: [...v.failedOver],
    ...(v.alert ? { alert: v.alert } : {}),
    history: v.history.map((s) => ({ at: iso(s.at), action: s.action, ...(s.attempt !== undefined ? { attempt: s.attempt } : {}), reason: s.reason, outcome: s.outcome, ...(s.detail !== undefined ? { detail: s.detail } : {}) })),
  };
}

export function healingRoutes(deps: HealingRouteDeps): Hono {
  const app = new Hono();
  const P = "/healing";
  defineRoute(app, P, { method: "get", path: "/", summary: "The recovery ladder and every replica on it: rung, last verdict, next step and history", response: Overview }, () => {
    const c = deps.config();
    const l = deps.runner.ladder();
    const last = deps.runner.lastEvaluation();
    return {
      ladder: { source: c.rungs ? ("config" as const) : ("builtin" as const), enabled: c.enabled, rungs: l.rungs.map((r) => ({ ...r })), unhealthyForMs: c.unhealthy_for, recoverAfterMs: l.recoverAfterMs, maxBackoffMs: l.maxBackoffMs, exclude: [...c.exclude] },
      ...(last !== undefined ? { lastEvaluation: iso(last) } : {}),
      targets: deps.runner.views().map(targetView),
    };
  });
  defineRoute(app, P, { method: "get", path: "/:target", summary: "One replica's ladder (<app>-<replica>) with its history", response: TargetView }, (c) => {
    const t = param(c, "target");
    const v = deps.runner.views().find((x) => x.target === t);
    if (!v) throw new ApiError(404, "not_found", `no recovery ladder for ${t} (a replica has one once it is unhealthy)`);
    return targetView(v);
  });
  return app;
}
