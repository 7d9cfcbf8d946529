// /v1/apps/:name/deployments, /rollback and /revisions: an app's rollouts (history and live status), a new
// revision from a merge patch, the operator gates (pause, resume, abort), rollback to a named revision, and the
// revision history. Everything a rollout does is also on the event stream as deploy.*.
import { Schema } from "effect";
import { Hono } from "hono";
import type { Context } from "hono";
import type { ConfigProblem } from "../config/problems.ts";
import type { Revision } from "../core/deploy/revision.ts";
import type { RolloutOptions } from "../core/deploy/rollout.ts";
import { parseDuration } from "../config/units.ts";
import { ANALYSIS_DEFAULTS } from "../config/deploy.ts";
import type { DeployError, DeployResult, RolloutView } from "../supervisor/deploy-runner.ts";
import { ApiError } from "./errors.ts";
import { defineRoute, param } from "./route.ts";
import { commandFieldsOfPatch } from "../config/api-commands.ts";

export interface DeploymentRouteDeps {
  known(app: string): boolean;
  current(app: string): { current: number; target: number } | undefined;
  rollouts(app: string): RolloutView[];
  rollout(app: string, id: string): RolloutView | undefined;
  revisions(app: string): readonly Revision[];
  /** Validates the patch over the target revision; problems name `spec.<field>`. */
  prepare(app: string, patch: Record<string, unknown>): { ok: true; fields: Record<string, unknown> } | { ok: false; problems: ConfigProblem[] };
  /** api.allow_api_commands: without it, a spec may not change what runs (command, args, cwd, env, ...). */
  allowCommands(): boolean;
  deploy(app: string, fields: Record<string, unknown>, by: string, options: Partial<RolloutOptions>): DeployResult<RolloutView>;
  rollback(app: string, revision: number | undefined, by: string): DeployResult<RolloutView>;
  control(app: string, id: string, what: "pause" | "resume" | "abort" | "promote", by: string): DeployResult<RolloutView>;
}

const RevisionCount = Schema.Struct({ revision: Schema.Number, total: Schema.Number, ready: Schema.Number, available: Schema.Number });
const Rollout = Schema.Struct({
  id: Schema.String,
  app: Schema.String,
  kind: Schema.Literals(["deploy", "rollback"]),
  status: Schema.String,
  active: Schema.Boolean,
  from: Schema.Number,
  to: Schema.Number,
  target: Schema.Number,
  phase: Schema.Literals(["forward", "revert"]),
  paused: Schema.Boolean,
  outcome: Schema.NullOr(Schema.String),
  reason: Schema.String,
  failure: Schema.NullOr(Schema.String),
  by: Schema.String,
  /** Index (from 0) of the traffic step in force or being prepared; null: none (rolling, or the steps are done). */
  step: Schema.NullOr(Schema.Number),
  /** When the current step's weight was applied (null: its replicas are not all available yet). */
  step_at: Schema.NullOr(Schema.String),
  /** The traffic split at the balancers: this revision takes `percent` of the app's picks, the others the rest. */
  split: Schema.NullOr(Schema.Struct({ revision: Schema.Number, percent: Schema.Number })),
  strategy: Schema.Struct({
    strategy: Schema.Literals(["rolling", "canary", "blue_green"]),
    /** canary and blue_green: the traffic steps (pause_ms null: held until promoted). */
    steps: Schema.Array(Schema.Struct({ weight: Schema.Number, pause_ms: Schema.NullOr(Schema.Number) })),
    /** Replicas of the new revision started beside the old ones for the steps ("all": a full set). */
    /** A count, "all", or a percent of the desired count ("25%"). */
    step_replicas: Schema.NullOr(Schema.Union([Schema.Number, Schema.String])),
    max_surge: Schema.Number,
    max_unavailable: Schema.Number,
    min_healthy_time_ms: Schema.Number,
    healthy_deadline_ms: Schema.Number,
    progress_deadline_ms: Schema.Number,
    auto_revert: Schema.Boolean,
    analysis: Schema.NullOr(Schema.Struct({ max_error_ratio: Schema.Number, max_latency_ratio: Schema.Number, max_p99_ratio: Schema.Number, min_requests: Schema.Number })),
  }),
  started_at: Schema.String,
  updated_at: Schema.String,
  ended_at: Schema.NullOr(Schema.String),
  live: Schema.NullOr(Schema.Struct({ at: Schema.String, desired: Schema.Number, revisions: Schema.Array(RevisionCount) })),
});
const RevisionView = Schema.Struct({ number: Schema.Number, hash: Schema.String, source: Schema.String, by: Schema.String, created_at: Schema.String, fields: Schema.Record(Schema.String, Schema.Unknown) });

const DurationText = Schema.String.check(Schema.isPattern(/^\d{1,7}(ms|s|m|h)$/, { message: 'Expected a duration such as "5s", "2m" or "500ms"' }));
const Count = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 }));
const Strategy = Schema.Struct({
  /** canary and blue_green take their steps from the app's deploy block (canary.steps, rollback_window, auto_promote). */
  strategy: Schema.optionalKey(Schema.Literals(["rolling", "canary", "blue_green"])),
  max_surge: Schema.optionalKey(Count),
  max_unavailable: Schema.optionalKey(Count),
  min_healthy_time: Schema.optionalKey(DurationText),
  healthy_deadline: Schema.optionalKey(DurationText),
  progress_deadline: Schema.optionalKey(DurationText),
  auto_revert: Schema.optionalKey(Schema.Boolean),
  /** The analysis for this rollout, replacing the app's (missing keys take the config defaults); null: none. */
  analysis: Schema.optionalKey(
    Schema.NullOr(
      Schema.Struct({
        max_error_ratio: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
        max_latency_ratio: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(1_000_000))),
        max_p99_ratio: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(1_000_000))),
        min_requests: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 }))),
      }),
    ),
  ),
});
const DeployBody = Schema.Struct({
  /** A merge patch of the app's revision fields (command, args, cwd, env, readiness, max_memory, checks). */
  spec: Schema.Record(Schema.String, Schema.Unknown),
  /** Overrides of the app's deploy settings for this rollout only. */
  strategy: Schema.optionalKey(Strategy),
});

const iso = (ms: number) => new Date(ms).toISOString();
const stepReplicasJson = (n: RolloutOptions["stepReplicas"]): number | string => (n === undefined ? "all" : typeof n === "object" ? `${n.percent}%` : n);

export function rolloutJson(r: RolloutView) {
  const o = r.options;
  return {
    id: r.id,
    app: r.app,
    kind: r.kind,
    status: r.status,
    active: r.active,
    from: r.from,
    to: r.to,
    target: r.target,
    phase: r.phase,
    paused: r.paused,
    outcome: r.outcome,
    reason: r.reason,
    failure: r.failure,
    by: r.by,
    step: r.step ?? null,
    step_at: r.stepAt === null || r.stepAt === undefined ? null : iso(r.stepAt),
    split: r.split ?? null,
    strategy: { strategy: o.strategy ?? "rolling", steps: (o.steps ?? []).map((s) => ({ weight: s.weight, pause_ms: s.pauseMs })), step_replicas: (o.steps ?? []).length > 0 ? stepReplicasJson(o.stepReplicas) : null, max_surge: o.maxSurge, max_unavailable: o.maxUnavailable, min_healthy_time_ms: o.minHealthyMs, healthy_deadline_ms: o.healthyDeadlineMs, progress_deadline_ms: o.progressDeadlineMs, auto_revert: o.autoRevert, analysis: o.analysis ? { max_error_ratio: o.analysis.maxErrorRatio, max_latency_ratio: o.analysis.maxLatencyRatio, max_p99_ratio: o.analysis.maxP99Ratio ?? o.analysis.maxLatencyRatio, min_requests: o.analysis.minRequests } : null },
    started_at: iso(r.startedAt),
    updated_at: iso(r.updatedAt),
    ended_at: r.endedAt === null ? null : iso(r.endedAt),
    live: r.live ? { at: iso(r.live.at), desired: r.live.desired, revisions: r.live.revisions } : null,
  };
}

const revisionJson = (r: Revision) => ({ number: r.number, hash: r.hash, source: r.source, by: r.by, created_at: iso(r.createdAt), fields: r.fields });

const callerName = (c: Context) => (c.get("principal" as never) as { name?: string } | undefined)?.name ?? "api";

const orThrow = <T>(r: DeployResult<T>): T => {
  if (r.ok) return r.value;
  const e: DeployError = r.error;
  throw new ApiError(e.status, e.code, e.message);
};

function strategyOptions(s: (typeof Strategy)["Type"] | undefined): Partial<RolloutOptions> {
  if (!s) return {};
  const out: { -readonly [K in keyof RolloutOptions]?: RolloutOptions[K] } = {};
  if (s.strategy !== undefined) out.strategy = s.strategy;
  if (s.max_surge !== undefined) out.maxSurge = s.max_surge;
  if (s.max_unavailable !== undefined) out.maxUnavailable = s.max_unavailable;
  if (s.min_healthy_time !== undefined) out.minHealthyMs = parseDuration(s.min_healthy_time);
  if (s.healthy_deadline !== undefined) out.healthyDeadlineMs = parseDuration(s.healthy_deadline);
  if (s.progress_deadline !== undefined) out.progressDeadlineMs = parseDuration(s.progress_deadline);
  if (s.auto_revert !== undefined) out.autoRevert = s.auto_revert;
  if (s.analysis === null) out.analysis = null;
  else if (s.analysis !== undefined) {
    const a = s.analysis;
    const latency = a.max_latency_ratio ?? ANALYSIS_DEFAULTS.max_latency_ratio;
    out.analysis = { maxErrorRatio: a.max_error_ratio ?? ANALYSIS_DEFAULTS.max_error_ratio, maxLatencyRatio: latency, maxP99Ratio: a.max_p99_ratio ?? latency, minRequests: a.min_requests ?? ANALYSIS_DEFAULTS.min_requests };
  }
  return out;
}

export function deploymentRoutes(deps: DeploymentRouteDeps): Hono {
  const app = new Hono();
  const P = "/apps";
  const known = (c: Context) => {
    const name = param(c, "name");
    if (!deps.known(name) || !deps.current(name)) throw new ApiError(404, "not_found", `no app named ${name}`);
    return name;
  };
  const History = Schema.Struct({ app: Schema.String, current: Schema.Number, target: Schema.Number, deployments: Schema.Array(Rollout) });

  defineRoute(app, P, { method: "get", path: "/:name/deployments", summary: "An app's rollouts, newest first (the active one with its live status)", response: History }, (c) => {
    const name = known(c);
    const cur = deps.current(name)!;
    return { app: name, ...cur, deployments: deps.rollouts(name).map(rolloutJson).reverse() };
  });
  defineRoute(
    app,
    P,
    {
      method: "post",
      path: "/:name/deployments",
      summary: "Deploy a new revision: a merge patch of the revision fields, rolled out with the app's strategy (or the overrides given)",
      body: DeployBody,
      response: Rollout,
      status: 202,
      errors: [409, 503],
      // It changes what runs (command, args, env): the same power as PATCH /v1/config, so the same role.
      role: "admin",
    },
    (c, { body }) => {
      const name = known(c);
      if (body.strategy?.max_surge === 0 && body.strategy.max_unavailable === 0) {
        throw new ApiError(400, "invalid_request", "strategy: max_surge and max_unavailable are both 0: the rollout could never replace a replica", { problems: [{ field: "strategy.max_surge", message: "make max_surge or max_unavailable at least 1" }] });
      }
      if (!deps.allowCommands()) {
        const refused = commandFieldsOfPatch(body.spec);
        if (refused.length > 0) {
          throw new ApiError(403, "forbidden", `${refused.map((p) => p.path).join(", ")}: a deployment through the API may not change what runs unless the config file sets api.allow_api_commands: true; no revision was created`, {
            problems: refused.map((p) => ({ field: p.path, message: p.message })),
          });
        }
      }
      const prepared = deps.prepare(name, body.spec);
      if (!prepared.ok) {
        const first = prepared.problems[0]!;
        throw new ApiError(400, "invalid_spec", `invalid spec: ${first.path}: ${first.message}${prepared.problems.length > 1 ? ` (and ${prepared.problems.length - 1} more)` : ""}; no revision was created`, {
          problems: prepared.problems.map((p) => ({ field: p.path, message: p.message, ...(p.value !== undefined ? { value: p.value } : {}) })),
        });
      }
      return rolloutJson(orThrow(deps.deploy(name, prepared.fields, callerName(c), strategyOptions(body.strategy))));
    },
  );
  defineRoute(app, P, { method: "get", path: "/:name/deployments/:id", summary: "One rollout: phase, target, per-revision replica counts and the reason of its last decision", response: Rollout }, (c) => {
    const name = known(c);
    const r = deps.rollout(name, param(c, "id"));
    if (!r) throw new ApiError(404, "not_found", `${name} has no rollout ${param(c, "id")}`);
    return rolloutJson(r);
  });
  for (const what of ["pause", "resume", "abort", "promote"] as const) {
    const summary = {
      pause: "Pause the rollout: nothing more is started or retired until resumed",
      resume: "Resume a paused rollout (after a failure: retry it)",
      abort: "Abort the rollout: revert to the revision it replaced (all traffic back to it at once when it had shifted any)",
      promote: "Promote a canary or blue-green rollout past its current traffic step (its pause and gate): the next step, or the replacement of the rest",
    }[what];
    defineRoute(app, P, { method: "post", path: `/:name/deployments/:id/${what}`, summary, response: Rollout, errors: [409, 503] }, (c) => {
      const name = known(c);
      return rolloutJson(orThrow(deps.control(name, param(c, "id"), what, callerName(c))));
    });
  }
  defineRoute(
    app,
    P,
    {
      method: "post",
      path: "/:name/rollback",
      summary: "Roll back to a revision (default: the newest one before the revision the app runs), as a rollout",
      body: Schema.Struct({ revision: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))) }),
      response: Rollout,
      status: 202,
      errors: [409, 503],
    },
    (c, { body }) => rolloutJson(orThrow(deps.rollback(known(c), body.revision, callerName(c)))),
  );
  defineRoute(app, P, { method: "get", path: "/:name/revisions", summary: "An app's revisions (newest last) and the one it runs", response: Schema.Struct({ app: Schema.String, current: Schema.Number, target: Schema.Number, revisions: Schema.Array(RevisionView) }) }, (c) => {
    const name = known(c);
    return { app: name, ...deps.current(name)!, revisions: deps.revisions(name).map(revisionJson) };
  });
  return app;
}
