// /v1/alerts and /v1/silences: alerts raised by the agent's sources, by policies and through the API; their
// acknowledge/resolve lifecycle; counts and response times; silences; the webhook notifications and their attempts.
import { Schema } from "effect";
import { type Context, Hono } from "hono";
import type { AlertFilter, AlertService } from "../alerts/service.ts";
import { matcherText, parseMatcher } from "../core/alerts/matchers.ts";
import { type Alert, type Silence, viewState } from "../core/alerts/types.ts";
import { ApiError } from "./errors.ts";
import { defineRoute, param, QueryInt } from "./route.ts";

const Severity = Schema.Literals(["info", "warning", "critical"]);
const State = Schema.Literals(["firing", "acknowledged", "silenced", "resolved"]);
const LabelName = Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { message: "Expected a label name of letters, digits and '_', not starting with a digit" }));
const Text = (max: number) => Schema.String.check(Schema.isMaxLength(max));
const Labels = Schema.Record(LabelName, Text(1024)).check(Schema.makeFilter((r: Record<string, string>) => (Object.keys(r).length <= 64 ? undefined : "Expected at most 64 labels")));
const Time = Schema.String.check(Schema.makeFilter((s: string) => (Number.isFinite(Date.parse(s)) ? undefined : "Expected an RFC 3339 time such as 2026-12-01T20:00:00Z")));

const AlertView = Schema.Struct({
  id: Schema.String,
  fingerprint: Schema.String,
  name: Schema.String,
  severity: Severity,
  state: State,
  labels: Schema.Record(Schema.String, Schema.String),
  annotations: Schema.Record(Schema.String, Schema.String),
  source: Schema.String,
  startsAt: Schema.String,
  lastSeenAt: Schema.String,
  occurrences: Schema.Number,
  lastValue: Schema.optionalKey(Schema.Number),
  endsAt: Schema.optionalKey(Schema.String),
  acknowledgedAt: Schema.optionalKey(Schema.String),
  acknowledgedBy: Schema.optionalKey(Schema.String),
  ackComment: Schema.optionalKey(Schema.String),
  resolvedAt: Schema.optionalKey(Schema.String),
  resolvedBy: Schema.optionalKey(Schema.String),
  resolveComment: Schema.optionalKey(Schema.String),
  silencedBy: Schema.Array(Schema.String),
  inhibitedBy: Schema.Array(Schema.String),
});
type AlertView = typeof AlertView.Type;

const SilenceView = Schema.Struct({
  id: Schema.String,
  matchers: Schema.Array(Schema.String),
  state: Schema.Literals(["pending", "active", "expired"]),
  startsAt: Schema.String,
  endsAt: Schema.String,
  createdBy: Schema.String,
  comment: Schema.String,
  createdAt: Schema.String,
});

const iso = (ms: number) => new Date(ms).toISOString();
const opt = <K extends string>(k: K, ms: number | undefined) => (ms === undefined ? {} : ({ [k]: iso(ms) } as Record<K, string>));

export function alertView(a: Alert): AlertView {
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(a.annotations)) if (v !== undefined) annotations[k] = v;
  return {
    id: a.id,
    fingerprint: a.fingerprint,
    name: a.name,
    severity: a.severity,
    state: viewState(a),
    labels: { ...a.labels },
    annotations,
    source: a.source,
    startsAt: iso(a.startsAt),
    lastSeenAt: iso(a.lastSeenAt),
    occurrences: a.occurrences,
    ...(a.lastValue !== undefined ? { lastValue: a.lastValue } : {}),
    ...opt("endsAt", a.endsAt),
    ...opt("acknowledgedAt", a.acknowledgedAt),
    ...(a.acknowledgedBy !== undefined ? { acknowledgedBy: a.acknowledgedBy } : {}),
    ...(a.ackComment !== undefined ? { ackComment: a.ackComment } : {}),
    ...opt("resolvedAt", a.resolvedAt),
    ...(a.resolvedBy !== undefined ? { resolvedBy: a.resolvedBy } : {}),
    ...(a.resolveComment !== undefined ? { resolveComment: a.resolveComment } : {}),
    silencedBy: [...a.silencedBy],
    inhibitedBy: [...a.inhibitedBy],
  };
}

export function silenceView(s: Silence, now: number): typeof SilenceView.Type {
  return {
    id: s.id,
    matchers: s.matchers.map(matcherText),
    state: now < s.startsAt ? "pending" : now < s.endsAt ? "active" : "expired",
    startsAt: iso(s.startsAt),
    endsAt: iso(s.endsAt),
    createdBy: s.createdBy,
    comment: s.comment,
    createdAt: iso(s.createdAt),
  };
}

const PAGE_SIZE_MAX = 500;
const ListQuery = Schema.Struct({
  state: Schema.optionalKey(State),
  severity: Schema.optionalKey(Severity),
  /** `k=v`, several joined by commas: every one must hold. */
  label: Schema.optionalKey(Text(4096)),
  source: Schema.optionalKey(Text(64)),
  page: Schema.optionalKey(QueryInt(1, 1_000_000)),
  limit: Schema.optionalKey(QueryInt(1, PAGE_SIZE_MAX)),
});
const Comment = Schema.Struct({ comment: Schema.optionalKey(Text(4096)) });
const CreateAlert = Schema.Struct({
  name: Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_:.-]{0,127}$/, { message: "Expected an alert name of letters, digits, '_', ':', '.' or '-'" })),
  severity: Severity,
  labels: Schema.optionalKey(Labels),
  annotations: Schema.optionalKey(Schema.Struct({ summary: Schema.optionalKey(Text(1024)), description: Schema.optionalKey(Text(16_384)), runbook_url: Schema.optionalKey(Text(2048)) })),
  value: Schema.optionalKey(Schema.Finite),
  /** When it resolves by itself unless raised again (Alertmanager's endsAt). */
  endsAt: Schema.optionalKey(Time),
});
const CreateSilence = Schema.Struct({
  matchers: Schema.Array(Text(1024)).check(Schema.isMinLength(1, { message: "Expected at least one matcher" }), Schema.isMaxLength(32)),
  startsAt: Schema.optionalKey(Time),
  endsAt: Schema.optionalKey(Time),
  /** Instead of endsAt: how long from startsAt, e.g. "2h". */
  duration: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^\d{1,9}(ms|s|m|h|d)$/, { message: 'Expected a duration such as "30m", "2h" or "1d"' }))),
  comment: Text(4096).check(Schema.isMinLength(1, { message: "Expected a comment saying why" })),
  createdBy: Schema.optionalKey(Text(256)),
});

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export interface AlertRouteDeps {
  alerts: AlertService;
  now?: () => number;
}

const principalName = (c: Context) => (c.get("principal" as never) as { name?: string } | undefined)?.name ?? "api";

function labelFilter(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined || text === "") return undefined;
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const i = part.indexOf("=");
    if (i <= 0) throw new ApiError(400, "invalid_request", `invalid query: label: expected k=v (several joined by commas); got "${part}"`, { field: "label", value: text });
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

export function alertRoutes(deps: AlertRouteDeps): Hono {
  const app = new Hono();
  const P = "/alerts";
  const now = deps.now ?? Date.now;
  const find = (id: string) => {
    const a = deps.alerts.get(id);
    if (!a) throw new ApiError(404, "not_found", `no alert ${id}`);
    return a;
  };
  const List = Schema.Struct({ alerts: Schema.Array(AlertView), total: Schema.Number, page: Schema.Number, pages: Schema.Number });
  defineRoute(app, P, { method: "get", path: "/", summary: "Alerts, newest first, filtered by state, severity, labels or source, a page at a time", query: ListQuery, response: List }, (_c, { query }) => {
    const filter: AlertFilter = {
      ...(query.state ? { state: query.state } : {}),
      ...(query.severity ? { severity: query.severity } : {}),
      ...(query.source ? { source: query.source } : {}),
    };
    const labels = labelFilter(query.label);
    if (labels) filter.labels = labels;
    const all = deps.alerts.list(filter);
    const limit = query.limit ?? 100;
    const page = query.page ?? 1;
    return { alerts: all.slice((page - 1) * limit, page * limit).map(alertView), total: all.length, page, pages: Math.max(1, Math.ceil(all.length / limit)) };
  });
  defineRoute(app, P, { method: "post", path: "/", summary: "Raise an alert (a repeat of the same labels counts an occurrence of the open one)", body: CreateAlert, response: Schema.Struct({ created: Schema.Boolean, alert: AlertView }), status: 201 }, (c, { body }) => {
    const endsAt = body.endsAt !== undefined ? Date.parse(body.endsAt) : undefined;
    if (endsAt !== undefined && endsAt <= now()) throw new ApiError(400, "invalid_request", "invalid body: endsAt: must be in the future", { problems: [{ field: "endsAt", message: "must be in the future", value: body.endsAt }] });
    const r = deps.alerts.raise({
      name: body.name,
      severity: body.severity,
      labels: { ...body.labels },
      annotations: { ...body.annotations },
      source: "api",
      ...(body.value !== undefined ? { value: body.value } : {}),
      ...(endsAt !== undefined ? { endsAt } : {}),
    });
    const view = { created: r.created, alert: alertView(r.alert) };
    return r.created ? view : c.json(view, 200);
  });
  const Stats = Schema.Struct({
    byState: Schema.Record(Schema.String, Schema.Number),
    bySeverity: Schema.Record(Schema.String, Schema.Number),
    meanTimeToAcknowledgeMs: Schema.NullOr(Schema.Number),
    meanTimeToResolveMs: Schema.NullOr(Schema.Number),
    notifications: Schema.Struct({ pending: Schema.Number, dropped: Schema.Number }),
  });
  defineRoute(app, P, { method: "get", path: "/stats", summary: "Counts by state and severity, mean time to acknowledge and to resolve", response: Stats }, () => deps.alerts.stats());
  const Attempt = Schema.Struct({ at: Schema.String, status: Schema.NullOr(Schema.Number), error: Schema.optionalKey(Schema.String), ms: Schema.Number });
  const NotificationView = Schema.Struct({
    id: Schema.Number,
    receiver: Schema.String,
    state: Schema.Literals(["pending", "delivered", "failed", "dropped"]),
    groupKey: Schema.String,
    status: Schema.Literals(["firing", "resolved"]),
    alertIds: Schema.Array(Schema.String),
    createdAt: Schema.String,
    nextAttemptAt: Schema.optionalKey(Schema.String),
    attempts: Schema.Array(Attempt),
  });
  defineRoute(
    app,
    P,
    { method: "get", path: "/notifications", summary: "Webhook notifications, newest first, with every delivery attempt", query: Schema.Struct({ limit: Schema.optionalKey(QueryInt(1, 1000)) }), response: Schema.Struct({ notifications: Schema.Array(NotificationView) }) },
    (_c, { query }) => ({
      notifications: deps.alerts.notifications(query.limit ?? 100).map((n) => ({
        id: n.id,
        receiver: n.receiver,
        state: n.state,
        groupKey: n.groupKey,
        status: n.status,
        alertIds: [...n.alertIds],
        createdAt: iso(n.createdAt),
        ...(n.state === "pending" ? { nextAttemptAt: iso(n.nextAttemptAt) } : {}),
        attempts: n.attempts.map((a) => ({ at: iso(a.at), status: a.status, ...(a.error !== undefined ? { error: a.error } : {}), ms: a.ms })),
      })),
    }),
  );
  defineRoute(app, P, { method: "get", path: "/:id", summary: "One alert", response: AlertView }, (c) => alertView(find(param(c, "id"))));
  defineRoute(app, P, { method: "post", path: "/:id/acknowledge", summary: "Acknowledge an alert: seen, working on it (stops repeat notifications)", body: Comment, response: AlertView, errors: [409] }, (c, { body }) => {
    const id = param(c, "id");
    const r = deps.alerts.acknowledge(id, principalName(c), body.comment);
    if (!r.ok && r.reason === "not_found") throw new ApiError(404, "not_found", `no alert ${id}`);
    if (!r.ok && r.reason === "already_resolved") throw new ApiError(409, "conflict", `alert ${id} is already resolved`, { state: "resolved" });
    // Acknowledging twice is not an error: the first acknowledgement (who, when) stands.
    return alertView(r.alert!);
  });
  defineRoute(app, P, { method: "post", path: "/:id/resolve", summary: "Resolve an alert by hand (a condition still true raises a new one at the next evaluation)", body: Comment, response: AlertView, errors: [409] }, (c, { body }) => {
    const id = param(c, "id");
    const r = deps.alerts.resolve(id, principalName(c), body.comment);
    if (!r.ok && r.reason === "not_found") throw new ApiError(404, "not_found", `no alert ${id}`);
    if (!r.ok) throw new ApiError(409, "conflict", `alert ${id} is already resolved`, { state: "resolved" });
    return alertView(r.alert);
  });
  return app;
}

export function silenceRoutes(deps: AlertRouteDeps): Hono {
  const app = new Hono();
  const P = "/silences";
  const now = deps.now ?? Date.now;
  defineRoute(app, P, { method: "get", path: "/", summary: "Silences, newest first (pending, active and expired)", response: Schema.Struct({ silences: Schema.Array(SilenceView) }) }, () => ({ silences: deps.alerts.silences().map((s) => silenceView(s, now())) }));
  defineRoute(app, P, { method: "get", path: "/:id", summary: "One silence", response: SilenceView }, (c) => {
    const id = param(c, "id");
    const s = deps.alerts.silences().find((x) => x.id === id);
    if (!s) throw new ApiError(404, "not_found", `no silence ${id}`);
    return silenceView(s, now());
  });
  defineRoute(app, P, { method: "post", path: "/", summary: "Silence the alerts matching every matcher, from startsAt (default now) to endsAt or for a duration", body: CreateSilence, response: SilenceView, status: 201 }, (c, { body }) => {
    const bad = (field: string, message: string, value?: unknown): never => {
      throw new ApiError(400, "invalid_request", `invalid body: ${field}: ${message}`, { problems: [{ field, message, ...(value !== undefined ? { value } : {}) }] });
    };
    body.matchers.forEach((m, i) => {
      try {
        parseMatcher(m);
      } catch (e) {
        bad(`matchers.${i}`, (e as Error).message, m);
      }
    });
    const t = now();
    const startsAt = body.startsAt !== undefined ? Date.parse(body.startsAt) : t;
    if (body.endsAt !== undefined && body.duration !== undefined) bad("duration", "give endsAt or duration, not both");
    let endsAt: number;
    if (body.endsAt !== undefined) endsAt = Date.parse(body.endsAt);
    else if (body.duration !== undefined) {
      const m = /^(\d+)(ms|s|m|h|d)$/.exec(body.duration)!;
      endsAt = startsAt + Number(m[1]) * UNIT_MS[m[2]!]!;
    } else return bad("endsAt", "required field is missing (or give a duration)");
    if (endsAt <= startsAt) bad("endsAt", "must be after startsAt", body.endsAt ?? body.duration);
    if (endsAt <= t) bad("endsAt", "must be in the future", body.endsAt ?? body.duration);
    const s = deps.alerts.silence({ matchers: body.matchers, startsAt, endsAt, createdBy: body.createdBy ?? principalName(c), comment: body.comment });
    return silenceView(s, now());
  });
  defineRoute(app, P, { method: "delete", path: "/:id", summary: "Expire a silence now (it is kept, as expired)", response: SilenceView }, (c) => {
    const id = param(c, "id");
    const s = deps.alerts.expireSilence(id);
    if (!s) throw new ApiError(404, "not_found", `no silence ${id}`);
    return silenceView(s, now());
  });
  return app;
}
