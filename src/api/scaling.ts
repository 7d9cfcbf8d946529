// /v1/scaling and /v1/metrics: policies and state, decision history, forecasts, policy changes (validated whole),
// simulation of a metric series, and custom metrics pushed by apps.
import { Schema } from "effect";
import { Hono } from "hono";
import { validatePolicy } from "../core/scaling/policy.ts";
import type { Decision, MetricForecast, ScalePolicy, SimulationPoint } from "../protocol/scaler.ts";
import type { ScalingRecord } from "../supervisor/scaler-link.ts";
import { ApiError } from "./errors.ts";
import { defineRoute, param, QueryInt } from "./route.ts";

export interface ScalingRouteDeps {
  apps: () => Array<{ app: string; min: number; max: number; current: number; policy: ScalePolicy | undefined; scalable: boolean }>;
  latest: (app: string) => Decision | undefined;
  history: (app: string, limit: number) => ScalingRecord[];
  forecast: (app: string) => Promise<MetricForecast[]>;
  setPolicy: (app: string, policy: ScalePolicy | undefined) => void;
  simulate: (policy: ScalePolicy, points: SimulationPoint[], initialReplicas?: number) => Promise<Decision[]>;
  pushMetric: (app: string, name: string, value: number, replica?: string) => void;
}

const Summary = Schema.Struct({ at: Schema.Number, current: Schema.Number, desired: Schema.Number, action: Schema.String, reason: Schema.String, rule: Schema.String, dryRun: Schema.Boolean });
const AppScaling = Schema.Struct({ app: Schema.String, min: Schema.Number, max: Schema.Number, current: Schema.Number, policy: Schema.NullOr(Schema.Unknown), last: Schema.NullOr(Summary) });

const summary = (d: Decision | undefined) => (d ? { at: d.at, current: d.current, desired: d.desired, action: d.action, reason: d.reason, rule: String(d.rule), dryRun: d.dryRun } : null);

function policyOrThrow(input: unknown): ScalePolicy {
  const v = validatePolicy(input);
  if (!v.ok) {
    const first = v.errors[0]!;
    throw new ApiError(400, "invalid_policy", `invalid policy: ${first.path}: ${first.message}${v.errors.length > 1 ? ` (and ${v.errors.length - 1} more)` : ""}`, { problems: v.errors.map((e) => ({ field: e.path, message: e.message })) });
  }
  return v.policy;
}

export function scalingRoutes(deps: ScalingRouteDeps): Hono {
  const app = new Hono();
  const P = "/scaling";
  const known = (name: string) => {
    const a = deps.apps().find((x) => x.app === name);
    if (!a) throw new ApiError(404, "not_found", `no app named ${name}`);
    return a;
  };
  defineRoute(app, P, { method: "get", path: "/", summary: "Every app's scaling policy and latest decision", response: Schema.Struct({ apps: Schema.Array(AppScaling) }) }, () => ({
    apps: deps.apps().map((a) => ({ app: a.app, min: a.min, max: a.max, current: a.current, policy: a.policy ?? null, last: summary(deps.latest(a.app)) })),
  }));
  defineRoute(app, P, { method: "get", path: "/:app/history", summary: "Decisions that acted (persisted), newest last", query: Schema.Struct({ limit: Schema.optionalKey(QueryInt(1, 10_000)) }), response: Schema.Struct({ app: Schema.String, decisions: Schema.Array(Schema.Unknown), latest: Schema.NullOr(Schema.Unknown) }) }, (c, { query }) => {
    const name = param(c, "app");
    known(name);
    return { app: name, decisions: deps.history(name, query.limit ?? 100).map((r) => ({ ...summary(r.decision), decision: r.decision })), latest: deps.latest(name) ?? null };
  });
  defineRoute(app, P, { method: "get", path: "/:app/forecast", summary: "The forecast per metric with its band and recent error", errors: [409], response: Schema.Struct({ app: Schema.String, forecasts: Schema.Array(Schema.Unknown) }) }, async (c) => {
    const name = param(c, "app");
    if (!known(name).policy) throw new ApiError(409, "no_policy", `${name} has no scaling policy`);
    return { app: name, forecasts: await deps.forecast(name) };
  });
  defineRoute(app, P, { method: "put", path: "/:app/policy", summary: "Replace an app's policy (validated whole; a bad policy changes nothing)", errors: [409, 422], body: Schema.Record(Schema.String, Schema.Unknown), response: Schema.Struct({ app: Schema.String, policy: Schema.Unknown }) }, (c, { body }) => {
    const name = param(c, "app");
    const a = known(name);
    if (!a.scalable) throw new ApiError(409, "not_scalable", `${name} has a fixed replica count; give it replicas: {min, max} in the config to scale it`);
    const policy = policyOrThrow({ min: a.min, max: a.max, ...body });
    if (policy.min < a.min || policy.max > a.max) throw new ApiError(422, "out_of_range", `${name} is configured for ${a.min}..${a.max} replicas; the policy asks for ${policy.min}..${policy.max}`);
    deps.setPolicy(name, policy);
    return { app: name, policy };
  });
  defineRoute(app, P, { method: "delete", path: "/:app/policy", summary: "Drop a policy set through the API (the config's applies again)", response: Schema.Struct({ app: Schema.String }) }, (c) => {
    const name = param(c, "app");
    known(name);
    deps.setPolicy(name, undefined);
    return { app: name };
  });
  const Point = Schema.Struct({ at: Schema.Number, totals: Schema.Record(Schema.String, Schema.Number) });
  defineRoute(app, P, { method: "post", path: "/:app/simulate", summary: "Replay a metric series through a policy (the app's, or one given) and return the decisions", errors: [409], body: Schema.Struct({ policy: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)), series: Schema.Array(Point).check(Schema.isMinLength(1), Schema.isMaxLength(100_000)), initial_replicas: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))) }), response: Schema.Struct({ app: Schema.String, decisions: Schema.Array(Schema.Unknown) }) }, async (c, { body }) => {
    const name = param(c, "app");
    const a = known(name);
    const policy = body.policy ? policyOrThrow({ min: a.min, max: a.max, ...body.policy }) : a.policy;
    if (!policy) throw new ApiError(409, "no_policy", `${name} has no scaling policy; pass one in "policy"`);
    for (let i = 1; i < body.series.length; i++) {
      if (body.series[i]!.at <= body.series[i - 1]!.at) throw new ApiError(400, "invalid_request", `series[${i}].at must increase`, { field: `series.${i}.at`, value: body.series[i]!.at });
    }
    return { app: name, decisions: await deps.simulate(policy, body.series as SimulationPoint[], body.initial_replicas) };
  });
  return app;
}

export function metricRoutes(deps: Pick<ScalingRouteDeps, "apps" | "pushMetric">): Hono {
  const app = new Hono();
  defineRoute(app, "/metrics", { method: "post", path: "/:app", summary: "Push a custom metric sample for an app (or one replica)", body: Schema.Struct({ name: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_.-]{1,64}$/, { message: "Expected a metric name of letters, digits, '.', '_' or '-'" })), value: Schema.Number.check(Schema.isFinite({ message: "Expected a finite number" }), Schema.isGreaterThanOrEqualTo(0, { message: "Expected a value >= 0" })), replica: Schema.optionalKey(Schema.String) }), response: Schema.Struct({ app: Schema.String, metric: Schema.String }), status: 202 }, (c, { body }) => {
    const name = param(c, "app");
    if (!deps.apps().some((a) => a.app === name)) throw new ApiError(404, "not_found", `no app named ${name}`);
    deps.pushMetric(name, `custom:${body.name}`, body.value, body.replica);
    return { app: name, metric: `custom:${body.name}` };
  });
  return app;
}
