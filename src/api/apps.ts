// /v1/apps: replicas with pid, port, state, restarts, uptime, cpu, rss and last exit; the app's state and the
// operator's intent; scale (pausing autoscaling), stop/start, maintenance, rolling restart, replica restart,
// crash-loop reset, logs and a follow stream.
import { Schema } from "effect";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { AppSnapshot, LogLine } from "../protocol/procs.ts";
import { parseDuration } from "../config/units.ts";
import { ApiError } from "./errors.ts";
import { defineRoute, param, QueryInt, registry } from "./route.ts";
import { SSE_KEEPALIVE_MS } from "./sse.ts";

const LastExit = Schema.Struct({ code: Schema.NullOr(Schema.Number), signal: Schema.NullOr(Schema.String), reason: Schema.String, at: Schema.Number });
const Usage = Schema.Struct({
  memoryBytes: Schema.Number,
  cpuUsageMs: Schema.NullOr(Schema.Number),
  throttledMs: Schema.Number.annotate({ description: "Time the replica waited at its CPU quota" }),
  throttledPeriods: Schema.Number,
  periods: Schema.Number.annotate({ description: "CFS periods the replica was runnable in (its CPU use is at most quota × periods)" }),
  pids: Schema.Number,
  pidsLimitHits: Schema.Number.annotate({ description: "fork() calls refused at the pids limit" }),
  oomKills: Schema.Number,
}).annotate({ description: "The replica's cgroup counters (present when it runs in one: resources set, or driver oci)" });
const Replica = Schema.Struct({
  app: Schema.String,
  id: Schema.Number,
  pid: Schema.NullOr(Schema.Number),
  port: Schema.NullOr(Schema.Number),
  state: Schema.String,
  restarts: Schema.Number,
  startedAt: Schema.NullOr(Schema.Number),
  startTime: Schema.NullOr(Schema.Number),
  adopted: Schema.Boolean,
  cpuPercent: Schema.Number,
  rssBytes: Schema.Number,
  lastExit: Schema.NullOr(LastExit),
  /** The revision it runs (GET /v1/apps/:name/revisions); 0 when none is known. */
  revision: Schema.Number,
  usage: Schema.optionalKey(Schema.NullOr(Usage)),
  uptimeMs: Schema.NullOr(Schema.Number),
  /** The process's own start time (ISO), also for a replica adopted after an agent restart. */
  started_at: Schema.NullOr(Schema.String),
});
const Autoscaling = Schema.Struct({ mode: Schema.Literals(["auto", "paused", "manual"]), paused_until: Schema.optionalKey(Schema.String) });
const Intent = Schema.Struct({
  replicas: Schema.optionalKey(Schema.Number),
  autoscaling: Autoscaling,
  stopped: Schema.optionalKey(Schema.Struct({ since: Schema.String, previous: Schema.Number })),
  maintenance: Schema.optionalKey(Schema.Struct({ since: Schema.String, reason: Schema.optionalKey(Schema.String) })),
});
export const AppStates = ["ok", "degraded", "backoff", "crash-loop", "stopped", "maintenance"] as const;
export type AppState = (typeof AppStates)[number];
const ScaleOutcome = Schema.Struct({ app: Schema.String, replicas: Schema.Number, autoscaling: Autoscaling });
const DurationText = Schema.String.check(Schema.isPattern(/^\d{1,7}(ms|s|m|h)$/, { message: 'Expected a duration such as "90s", "30m" or "2h"' }));
export const AppView = Schema.Struct({
  name: Schema.String,
  desired: Schema.Number,
  ready: Schema.Number,
  min: Schema.Number,
  max: Schema.Number,
  crashLoop: Schema.Boolean,
  state: Schema.Literals(AppStates),
  intent: Intent,
  /** The revision the app runs (the last rollout that completed) and the one new replicas get (a rollout's target). */
  revision: Schema.optionalKey(Schema.Struct({ current: Schema.Number, target: Schema.Number })),
  replicas: Schema.Array(Replica),
});
const LogLineView = Schema.Struct({ app: Schema.String, id: Schema.Number, stream: Schema.Literals(["stdout", "stderr"]), line: Schema.String, at: Schema.Number });

type IntentView = (typeof Intent)["Type"];
type ScaleResult = (typeof ScaleOutcome)["Type"];

/** Operator intent, carried out by the supervisor (persisted before it acts). */
export interface AppControlDeps {
  scale(app: string, replicas: number, forMs?: number): Promise<ScaleResult>;
  resume(app: string): Promise<ScaleResult | "not-autoscaled" | "stopped">;
  stop(app: string): Promise<ScaleResult>;
  start(app: string): Promise<ScaleResult>;
  maintenance(app: string, enable: boolean, reason?: string): { since: number; reason?: string } | undefined;
  intent(app: string): IntentView;
}

export interface AppRouteDeps {
  snapshot: () => Promise<AppSnapshot[]>;
  bounds: (app: string) => { min: number; max: number } | undefined;
  control: AppControlDeps;
  rollingRestart: (app: string) => Promise<{ ok: boolean; replaced: number; reason?: string }>;
  restartReplica: (app: string, id: number) => Promise<void>;
  reset: (app: string) => Promise<void>;
  logs: (app: string, replica: number | undefined, tail: number) => Promise<LogLine[]>;
  follow: (app: string, fn: (l: LogLine) => void) => () => void;
  revision?: (app: string) => { current: number; target: number } | undefined;
}

/**
 * One word for an app, first match wins: maintenance and stopped (the operator said so), crash-loop (restarts
 * paused), ok (every wanted replica ready; also an app scaled to zero by its autoscaler), backoff (a replica
 * waits to be restarted), degraded (fewer ready than wanted).
 */
export function appState(a: AppSnapshot, intent: IntentView): AppState {
  if (intent.maintenance) return "maintenance";
  if (intent.stopped) return "stopped";
  if (a.crashLoop) return "crash-loop";
  const ready = a.replicas.filter((r) => r.state === "ready").length;
  if (ready >= a.desired) return "ok";
  if (a.replicas.some((r) => r.state === "backoff" || r.state === "crash-loop")) return "backoff";
  return "degraded";
}

const view = (a: AppSnapshot, b: { min: number; max: number }, intent: IntentView, revision?: { current: number; target: number }) => ({
  name: a.name,
  desired: a.desired,
  ready: a.replicas.filter((r) => r.state === "ready").length,
  min: b.min,
  max: b.max,
  crashLoop: a.crashLoop,
  state: appState(a, intent),
  intent,
  ...(revision ? { revision } : {}),
  replicas: a.replicas.map((r) => ({
    ...r,
    uptimeMs: r.startedAt ? Math.max(0, Date.now() - r.startedAt) : null,
    started_at: r.startedAt ? new Date(r.startedAt).toISOString() : null,
  })),
});

export function appRoutes(deps: AppRouteDeps): Hono {
  const app = new Hono();
  const P = "/apps";
  const known = async (name: string) => {
    const b = deps.bounds(name);
    if (!b) throw new ApiError(404, "not_found", `no app named ${name}`);
    const snap = (await deps.snapshot()).find((a) => a.name === name);
    return { b, snap };
  };
  const replicaId = (raw: string) => {
    if (!/^\d{1,6}$/.test(raw)) throw new ApiError(400, "invalid_request", `replica id must be a number, got "${raw}"`, { field: "id", value: raw });
    return Number(raw);
  };

  defineRoute(app, P, { method: "get", path: "/", summary: "Every app with its replicas", response: Schema.Struct({ apps: Schema.Array(AppView) }) }, async () => ({
    apps: (await deps.snapshot()).map((a) => view(a, deps.bounds(a.name) ?? { min: 0, max: 0 }, deps.control.intent(a.name), deps.revision?.(a.name))),
  }));
  defineRoute(app, P, { method: "get", path: "/:name", summary: "One app with its replicas", response: AppView }, async (c) => {
    const { b, snap } = await known(param(c, "name"));
    if (!snap) throw new ApiError(404, "not_found", `app ${param(c, "name")} has no state yet`);
    return view(snap, b, deps.control.intent(param(c, "name")), deps.revision?.(snap.name));
  });
  defineRoute(app, P, {
    method: "post",
    path: "/:name/scale",
    summary: "Set the replica count (within min/max); on an autoscaled app this pauses autoscaling for `for` (default scaling.manual_pause). {auto: true} hands control back to the autoscaler",
    body: Schema.Union([
      Schema.Struct({ replicas: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), for: Schema.optionalKey(DurationText) }),
      Schema.Struct({ auto: Schema.Literal(true) }),
    ]),
    errors: [409, 422],
    response: ScaleOutcome,
    status: 202,
  }, async (c, { body }) => {
    const name = param(c, "name");
    const { b } = await known(name);
    if ("auto" in body) {
      const r = await deps.control.resume(name);
      if (r === "not-autoscaled") throw new ApiError(409, "not_autoscaled", `${name} has no autoscaling (no scaling block in its config): there is nothing to hand control back to`, { field: "auto" });
      if (r === "stopped") throw new ApiError(409, "stopped", `${name} is stopped: POST /v1/apps/${name}/start first`, { field: "auto" });
      return r;
    }
    if (body.replicas < b.min || body.replicas > b.max) {
      throw new ApiError(422, "out_of_range", `${name} allows ${b.min}..${b.max} replicas; asked for ${body.replicas}`, { field: "replicas", value: body.replicas, min: b.min, max: b.max });
    }
    const forMs = body.for !== undefined ? parseDuration(body.for) : undefined;
    if (forMs !== undefined && forMs <= 0) throw new ApiError(400, "invalid_request", `for must be longer than 0, got "${body.for}"`, { field: "for", value: body.for });
    return deps.control.scale(name, body.replicas, forMs);
  });
  defineRoute(app, P, { method: "post", path: "/:name/stop", summary: "Scale to zero without a config edit; remembered across agent restarts until start", response: ScaleOutcome, status: 202 }, async (c) => {
    const name = param(c, "name");
    await known(name);
    return deps.control.stop(name);
  });
  defineRoute(app, P, { method: "post", path: "/:name/start", summary: "Back to the replica count the app had when it was stopped", response: ScaleOutcome, status: 202 }, async (c) => {
    const name = param(c, "name");
    await known(name);
    return deps.control.start(name);
  });
  defineRoute(app, P, {
    method: "put",
    path: "/:name/maintenance",
    summary: "Maintenance mode (as Consul's): the app's endpoints leave every balancer until it is turned off; persisted",
    body: Schema.Struct({ enable: Schema.Boolean, reason: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(512))) }),
    response: Schema.Struct({ app: Schema.String, maintenance: Schema.Boolean, since: Schema.optionalKey(Schema.String), reason: Schema.optionalKey(Schema.String) }),
  }, async (c, { body }) => {
    const name = param(c, "name");
    await known(name);
    const m = deps.control.maintenance(name, body.enable, body.reason);
    return { app: name, maintenance: m !== undefined, ...(m ? { since: new Date(m.since).toISOString(), ...(m.reason !== undefined ? { reason: m.reason } : {}) } : {}) };
  });
  defineRoute(app, P, { method: "post", path: "/:name/restart", summary: "Rolling restart: each replica replaced by a ready one before it stops", response: Schema.Struct({ app: Schema.String, status: Schema.Literals(["done", "aborted"]), replaced: Schema.Number, reason: Schema.optionalKey(Schema.String) }) }, async (c) => {
    const name = param(c, "name");
    await known(name);
    const r = await deps.rollingRestart(name);
    return { app: name, status: r.ok ? ("done" as const) : ("aborted" as const), replaced: r.replaced, ...(r.reason ? { reason: r.reason } : {}) };
  });
  defineRoute(app, P, { method: "post", path: "/:name/replicas/:id/restart", summary: "Restart one replica (same slot and port)", response: Schema.Struct({ app: Schema.String, replica: Schema.Number }), status: 202 }, async (c) => {
    const name = param(c, "name");
    const id = replicaId(param(c, "id"));
    const { snap } = await known(name);
    if (!snap?.replicas.some((r) => r.id === id)) throw new ApiError(404, "not_found", `${name} has no replica ${id}`);
    await deps.restartReplica(name, id);
    return { app: name, replica: id };
  });
  defineRoute(app, P, { method: "post", path: "/:name/reset", summary: "Clear a crash loop so restarts resume", response: Schema.Struct({ app: Schema.String }) }, async (c) => {
    const name = param(c, "name");
    await known(name);
    await deps.reset(name);
    return { app: name };
  });
  defineRoute(app, P, { method: "get", path: "/:name/logs", summary: "Recent stdout/stderr lines", query: Schema.Struct({ tail: Schema.optionalKey(QueryInt(1, 10_000)), replica: Schema.optionalKey(QueryInt(0, 999_999)) }), response: Schema.Struct({ lines: Schema.Array(LogLineView) }) }, async (c, { query }) => {
    const name = param(c, "name");
    await known(name);
    return { lines: await deps.logs(name, query.replica, query.tail ?? 100) };
  });
  registry.push({ method: "get", path: "/v1/apps/:name/logs/follow", summary: "Follow an app's log lines as Server-Sent Events", sse: { data: LogLineView, events: "log (one line), dropped ({dropped: n} when a slow reader lost n lines)" }, status: 200, role: "read" });
  app.get("/:name/logs/follow", async (c) => {
    const name = param(c, "name");
    await known(name);
    return streamSSE(c, async (stream) => {
      const queue: LogLine[] = [];
      let wake: (() => void) | undefined;
      let closed = false;
      let dropped = 0;
      const off = deps.follow(name, (l) => {
        // A slow reader loses lines rather than growing our memory.
        if (queue.length >= 5000) dropped++;
        else queue.push(l);
        wake?.();
      });
      stream.onAbort(() => {
        closed = true;
        wake?.();
      });
      try {
        // An SSE comment right away: a client learns the subscription is live before the first line (fetch resolves
        // only once body bytes arrive), so it can then read the recent lines without missing one in between.
        await stream.write(": following\n\n");
        while (!closed) {
          while (queue.length > 0) await stream.writeSSE({ event: "log", data: JSON.stringify(queue.shift()) });
          if (dropped > 0) {
            await stream.writeSSE({ event: "dropped", data: JSON.stringify({ dropped }) });
            dropped = 0;
          }
          let idle: ReturnType<typeof setTimeout> | undefined;
          await new Promise<void>((r) => {
            wake = r;
            idle = setTimeout(r, SSE_KEEPALIVE_MS);
          });
          clearTimeout(idle);
          wake = undefined;
          if (queue.length === 0 && !closed) await stream.write(": keep-alive\n\n");
        }
      } finally {
        off();
      }
    });
  });
  return app;
}
