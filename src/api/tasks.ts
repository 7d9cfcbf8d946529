// /v1/tasks: the durable task queue. Creating a task with a command runs a program on this host, so it needs
// api.allow_api_tasks (file-only) and the operator role; a task declared in the config can always be executed by
// name, its parameters checked against their declared patterns. Secret-looking env values are never shown.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { Schema } from "effect";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { ParamError } from "../config/tasks.ts";
import { TaskPriority } from "../config/tasks-schema.ts";
import { Duration, ByteSize } from "../config/units.ts";
import { FINISHED, type Task, type TaskSpec } from "../core/tasks/types.ts";
import { QueueFullError, type TaskService } from "../tasks/service.ts";
import { ApiError } from "./errors.ts";
import { defineRoute, param, QueryInt, registry } from "./route.ts";
import { SSE_KEEPALIVE_MS } from "./sse.ts";

const State = Schema.Literals(["queued", "starting", "running", "succeeded", "failed", "timed_out", "cancelled", "lost"]);
const Name = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { message: "Expected a name of letters, digits, '.', '_' or '-' (1-63 characters)" }));
const StringMap = Schema.Record(Schema.String.check(Schema.isMaxLength(256)), Schema.String.check(Schema.isMaxLength(65_536)));

const Attempt = Schema.Struct({
  attempt: Schema.Number,
  startedAt: Schema.String,
  finishedAt: Schema.optionalKey(Schema.String),
  pid: Schema.optionalKey(Schema.Number),
  exitCode: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  signal: Schema.optionalKey(Schema.NullOr(Schema.String)),
  outcome: Schema.optionalKey(Schema.String),
  message: Schema.optionalKey(Schema.String),
  /** The attempt's process outlived the agent that started it and was followed to its end by the next one. */
  adopted: Schema.optionalKey(Schema.Boolean),
});
const Stream = Schema.Struct({ captured: Schema.Number, total: Schema.Number, note: Schema.String });
export const TaskView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  state: State,
  command: Schema.String,
  args: Schema.Array(Schema.String),
  env: Schema.Record(Schema.String, Schema.String),
  cwd: Schema.optionalKey(Schema.String),
  priority: TaskPriority,
  timeoutMs: Schema.Number,
  retries: Schema.Struct({ max: Schema.Number, backoffMs: Schema.Number, maxBackoffMs: Schema.Number }),
  concurrencyKey: Schema.optionalKey(Schema.String),
  concurrencyLimit: Schema.Number,
  definition: Schema.optionalKey(Schema.String),
  params: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  createdAt: Schema.String,
  startedAt: Schema.optionalKey(Schema.String),
  finishedAt: Schema.optionalKey(Schema.String),
  notBefore: Schema.optionalKey(Schema.String),
  pid: Schema.optionalKey(Schema.Number),
  exitCode: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  signal: Schema.optionalKey(Schema.NullOr(Schema.String)),
  reason: Schema.optionalKey(Schema.String),
  cancelRequested: Schema.Boolean,
  attempts: Schema.Array(Attempt),
  output: Schema.optionalKey(Schema.Struct({ stdout: Stream, stderr: Stream })),
});

const iso = (ms: number) => new Date(ms).toISOString();
const note = (captured: number, total: number) => (captured >= total ? `captured all ${total} bytes` : `captured ${captured} of ${total} bytes`);

export function taskView(t: Task, now = Date.now()): typeof TaskView.Type {
  return {
    id: t.id,
    name: t.spec.name,
    state: t.state,
    command: t.spec.command,
    args: [...t.spec.args],
    env: { ...t.spec.env },
    ...(t.spec.cwd ? { cwd: t.spec.cwd } : {}),
    priority: t.spec.priority,
    timeoutMs: t.spec.timeoutMs,
    retries: { ...t.spec.retries },
    ...(t.spec.concurrencyKey ? { concurrencyKey: t.spec.concurrencyKey } : {}),
    concurrencyLimit: t.spec.concurrencyLimit,
    ...(t.spec.definition ? { definition: t.spec.definition } : {}),
    ...(t.spec.params ? { params: { ...t.spec.params } } : {}),
    createdAt: iso(t.createdAt),
    ...(t.startedAt !== undefined ? { startedAt: iso(t.startedAt) } : {}),
    ...(t.finishedAt !== undefined ? { finishedAt: iso(t.finishedAt) } : {}),
    ...(t.state === "queued" && t.notBefore > now ? { notBefore: iso(t.notBefore) } : {}),
    ...(t.pid !== undefined && (t.state === "running" || t.state === "starting") ? { pid: t.pid } : {}),
    ...(t.exitCode !== undefined ? { exitCode: t.exitCode } : {}),
    ...(t.signal !== undefined ? { signal: t.signal } : {}),
    ...(t.reason !== undefined ? { reason: t.reason } : {}),
    cancelRequested: t.cancelRequested ?? false,
    attempts: t.attempts.map((a) => ({
      attempt: a.attempt,
      startedAt: iso(a.startedAt),
      ...(a.finishedAt !== undefined ? { finishedAt: iso(a.finishedAt) } : {}),
      ...(a.pid !== undefined ? { pid: a.pid } : {}),
      ...(a.exitCode !== undefined ? { exitCode: a.exitCode } : {}),
      ...(a.signal !== undefined ? { signal: a.signal } : {}),
      ...(a.outcome !== undefined ? { outcome: a.outcome } : {}),
      ...(a.message !== undefined ? { message: a.message } : {}),
      ...(a.adopted ? { adopted: true } : {}),
    })),
    ...(t.output
      ? {
          output: {
            stdout: { captured: t.output.stdoutCaptured, total: t.output.stdoutBytes, note: note(t.output.stdoutCaptured, t.output.stdoutBytes) },
            stderr: { captured: t.output.stderrCaptured, total: t.output.stderrBytes, note: note(t.output.stderrCaptured, t.output.stderrBytes) },
          },
        }
      : {}),
  };
}

const Retries = Schema.Struct({ max: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 100 }))), backoff: Schema.optionalKey(Duration), max_backoff: Schema.optionalKey(Duration) });
const CreateTask = Schema.Struct({
  name: Name,
  /** Absent: run the task of this name declared in the config. */
  command: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(4096))),
  args: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isMaxLength(65_536))).check(Schema.isMaxLength(1000))),
  env: Schema.optionalKey(StringMap),
  cwd: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  priority: Schema.optionalKey(TaskPriority),
  timeout: Schema.optionalKey(Duration),
  retries: Schema.optionalKey(Retries),
  concurrency_key: Schema.optionalKey(Name),
  concurrency_limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 }))),
  kill_timeout: Schema.optionalKey(Duration),
  output_limit: Schema.optionalKey(ByteSize),
  /** For a declared task: its parameters. */
  params: Schema.optionalKey(StringMap),
});
const UpdateTask = Schema.Struct({
  priority: Schema.optionalKey(TaskPriority),
  args: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isMaxLength(65_536))).check(Schema.isMaxLength(1000))),
  env: Schema.optionalKey(StringMap),
  timeout: Schema.optionalKey(Duration),
  retries: Schema.optionalKey(Retries),
  concurrency_key: Schema.optionalKey(Name),
  concurrency_limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 }))),
});
const Execute = Schema.Struct({ params: Schema.optionalKey(StringMap), priority: Schema.optionalKey(TaskPriority) });
const ListQuery = Schema.Struct({
  status: Schema.optionalKey(State),
  priority: Schema.optionalKey(TaskPriority),
  name: Schema.optionalKey(Name),
  page: Schema.optionalKey(QueryInt(1, 1_000_000)),
  limit: Schema.optionalKey(QueryInt(1, 500)),
});

export interface TaskRouteDeps {
  tasks: TaskService;
  allowApiTasks: () => boolean;
  defaults: () => { outputLimit: number };
}

export function taskRoutes(deps: TaskRouteDeps): Hono {
  const app = new Hono();
  const P = "/tasks";
  const view = (t: Task) => taskView(deps.tasks.redacted(t));
  const find = (id: string) => {
    const t = deps.tasks.get(id);
    if (!t) throw new ApiError(404, "not_found", `no task ${id}`);
    return t;
  };
  const guarded = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof ParamError) throw new ApiError(400, "invalid_request", `invalid body: ${e.field}: ${e.message}`, { problems: [{ field: e.field, message: e.message, ...(e.value !== undefined ? { value: e.value } : {}) }] });
      if (e instanceof QueueFullError) throw new ApiError(503, "queue_full", e.message, { max: e.max });
      throw e;
    }
  };
  const mustAllow = () => {
    if (!deps.allowApiTasks()) throw new ApiError(403, "forbidden", "tasks with a command cannot be created through the API unless the config sets api.allow_api_tasks: true; tasks declared in the config (tasks:) can be run by name");
  };

  const List = Schema.Struct({ tasks: Schema.Array(TaskView), total: Schema.Number, page: Schema.Number, pages: Schema.Number });
  defineRoute(app, P, { method: "get", path: "/", summary: "Tasks, newest first, filtered by status, priority or name, a page at a time", query: ListQuery, response: List }, (_c, { query }) => {
    const all = deps.tasks.list({ ...(query.status ? { status: query.status } : {}), ...(query.priority ? { priority: query.priority } : {}), ...(query.name ? { name: query.name } : {}) });
    const limit = query.limit ?? 100;
    const page = query.page ?? 1;
    return { tasks: all.slice((page - 1) * limit, page * limit).map(view), total: all.length, page, pages: Math.max(1, Math.ceil(all.length / limit)) };
  });
  defineRoute(
    app,
    P,
    { method: "get", path: "/definitions", summary: "Tasks declared in the config, with their schedules' next runs", response: Schema.Struct({ definitions: Schema.Array(Schema.Struct({ name: Schema.String, command: Schema.String, schedule: Schema.optionalKey(Schema.String), timeZone: Schema.String, overlap: Schema.String, params: Schema.Record(Schema.String, Schema.String), next: Schema.optionalKey(Schema.String) })) }) },
    () => {
      const next = new Map(deps.tasks.schedules().map((s) => [s.name, s.next]));
      return {
        definitions: deps.tasks.definitions().map((d) => {
          const n = next.get(d.name);
          return { name: d.name, command: d.command, ...(d.schedule ? { schedule: d.schedule } : {}), timeZone: d.time_zone, overlap: d.overlap, params: Object.fromEntries(Object.entries(d.params).map(([k, p]) => [k, p.pattern])), ...(n ? { next: new Date(n).toISOString() } : {}) };
        }),
      };
    },
  );
  defineRoute(app, P, { method: "post", path: "/", summary: "Queue a task: a command (api.allow_api_tasks), or a task declared in the config by name with its params", body: CreateTask, response: TaskView, status: 201, errors: [503] }, (_c, { body }) => {
    if (body.command === undefined) {
      const extra = (["args", "env", "cwd", "timeout", "retries", "concurrency_key", "concurrency_limit", "kill_timeout", "output_limit"] as const).filter((k) => body[k] !== undefined);
      if (!deps.tasks.definition(body.name)) {
        throw new ApiError(400, "invalid_request", `invalid body: command: required field is missing (no task ${body.name} is declared in the config)`, { problems: [{ field: "command", message: "required field is missing" }] });
      }
      if (extra.length > 0) throw new ApiError(400, "invalid_request", `invalid body: ${extra[0]}: a task declared in the config takes only params and priority`, { problems: extra.map((f) => ({ field: f, message: "not allowed for a declared task" })) });
      return view(guarded(() => deps.tasks.execute(body.name, body.params, body.priority)));
    }
    mustAllow();
    if (body.params !== undefined) throw new ApiError(400, "invalid_request", "invalid body: params: only a task declared in the config takes params", { problems: [{ field: "params", message: "only a task declared in the config takes params" }] });
    const spec: TaskSpec = {
      name: body.name,
      command: body.command,
      args: body.args ?? [],
      env: body.env ?? {},
      ...(body.cwd ? { cwd: body.cwd } : {}),
      priority: body.priority ?? "medium",
      timeoutMs: body.timeout ?? 0,
      retries: { max: body.retries?.max ?? 0, backoffMs: body.retries?.backoff ?? 1000, maxBackoffMs: body.retries?.max_backoff ?? 300_000 },
      ...(body.concurrency_key ? { concurrencyKey: body.concurrency_key } : {}),
      concurrencyLimit: body.concurrency_limit ?? 1,
      killTimeoutMs: body.kill_timeout ?? 10_000,
      outputLimit: body.output_limit ?? deps.defaults().outputLimit,
    };
    return view(guarded(() => deps.tasks.enqueue(spec)));
  });
  defineRoute(app, P, { method: "get", path: "/:id", summary: "One task with its attempts", response: TaskView }, (c) => view(find(param(c, "id"))));
  defineRoute(app, P, { method: "put", path: "/:id", summary: "Change a queued task (priority, args, env, timeout, retries, concurrency)", body: UpdateTask, response: TaskView, errors: [409] }, (c, { body }) => {
    const t = find(param(c, "id"));
    if (t.spec.definition === undefined && (body.args !== undefined || body.env !== undefined)) mustAllow();
    if (t.spec.definition !== undefined && (body.args !== undefined || body.env !== undefined)) throw new ApiError(400, "invalid_request", "invalid body: args: a task declared in the config keeps its command line; change its params by executing it again", { problems: [{ field: body.args !== undefined ? "args" : "env", message: "not allowed for a declared task" }] });
    const spec: TaskSpec = {
      ...t.spec,
      ...(body.priority ? { priority: body.priority } : {}),
      ...(body.args ? { args: body.args } : {}),
      ...(body.env ? { env: body.env } : {}),
      ...(body.timeout !== undefined ? { timeoutMs: body.timeout } : {}),
      ...(body.retries ? { retries: { max: body.retries.max ?? t.spec.retries.max, backoffMs: body.retries.backoff ?? t.spec.retries.backoffMs, maxBackoffMs: body.retries.max_backoff ?? t.spec.retries.maxBackoffMs } } : {}),
      ...(body.concurrency_key ? { concurrencyKey: body.concurrency_key } : {}),
      ...(body.concurrency_limit ? { concurrencyLimit: body.concurrency_limit } : {}),
    };
    const r = deps.tasks.update(t.id, spec);
    if (!r.ok) throw new ApiError(409, "conflict", `task ${t.id} is ${t.state}: only a queued task can be changed`, { state: t.state });
    return view(r.task);
  });
  defineRoute(app, P, { method: "delete", path: "/:id", summary: "Forget a queued or finished task (a running one must be cancelled first)", response: Schema.Struct({ deleted: Schema.String }), errors: [409] }, (c) => {
    const t = find(param(c, "id"));
    const r = deps.tasks.remove(t.id);
    if (!r.ok) throw new ApiError(409, "conflict", `task ${t.id} is ${t.state}: cancel it first`, { state: t.state });
    return { deleted: t.id };
  });
  defineRoute(app, P, { method: "post", path: "/:id/execute", summary: "Run now: a task declared in the config (by name, with params), or a new run of a stored task", body: Execute, response: TaskView, status: 201, errors: [503] }, (c, { body }) => {
    const id = param(c, "id");
    if (deps.tasks.definition(id)) return view(guarded(() => deps.tasks.execute(id, body.params, body.priority)));
    const t = find(id);
    if (t.spec.definition !== undefined) return view(guarded(() => deps.tasks.execute(t.spec.definition!, body.params ?? t.spec.params, body.priority ?? t.spec.priority)));
    mustAllow();
    if (body.params !== undefined) throw new ApiError(400, "invalid_request", "invalid body: params: only a task declared in the config takes params", { problems: [{ field: "params", message: "only a task declared in the config takes params" }] });
    return view(guarded(() => deps.tasks.enqueue({ ...t.spec, ...(body.priority ? { priority: body.priority } : {}) })));
  });
  defineRoute(app, P, { method: "post", path: "/:id/cancel", summary: "Cancel a task: a queued one is dropped, a running one stopped (signal, then SIGKILL)", body: Schema.Struct({}), response: TaskView, errors: [409] }, (c) => {
    const t = find(param(c, "id"));
    const r = deps.tasks.cancel(t.id);
    if (!r.ok) throw new ApiError(409, "conflict", `task ${t.id} already ${t.state.replace("_", " ")}`, { state: t.state });
    return view(r.task);
  });
  const Logs = Schema.Struct({ id: Schema.String, stream: Schema.Literals(["stdout", "stderr"]), text: Schema.String, captured: Schema.Number, total: Schema.Number, note: Schema.String });
  defineRoute(
    app,
    P,
    { method: "get", path: "/:id/logs", summary: "A task's kept output (the last `tail` bytes of it)", query: Schema.Struct({ stream: Schema.optionalKey(Schema.Literals(["stdout", "stderr"])), tail: Schema.optionalKey(QueryInt(1, 16 * 1024 * 1024)) }), response: Logs },
    (c, { query }) => {
      const t = find(param(c, "id"));
      const stream = query.stream ?? "stdout";
      const o = deps.tasks.output(t.id, stream, query.tail ?? 64 * 1024)!;
      return { id: t.id, stream, text: o.text, captured: o.captured, total: o.total, note: note(o.captured, o.total) };
    },
  );
  registry.push({ method: "get", path: "/v1/tasks/:id/logs/follow", summary: "Follow a task's output as Server-Sent Events until it ends", sse: { data: Schema.Struct({ stream: Schema.String, text: Schema.String }), events: "output ({stream, text}: new bytes), end ({state, exitCode, reason} once the task finished)" }, status: 200, role: "read" });
  app.get("/:id/logs/follow", (c) => {
    const t = find(param(c, "id"));
    return streamSSE(c, async (s) => {
      let closed = false;
      s.onAbort(() => {
        closed = true;
      });
      const offsets = { stdout: 0, stderr: 0 };
      const pump = async () => {
        for (const stream of ["stdout", "stderr"] as const) {
          const path = deps.tasks.outputPath(t.id, stream);
          let size = 0;
          try {
            size = statSync(path).size;
          } catch {
            continue;
          }
          // A new attempt starts its files afresh.
          if (size < offsets[stream]) offsets[stream] = 0;
          const end = Math.min(size, t.spec.outputLimit);
          while (offsets[stream] < end) {
            const len = Math.min(64 * 1024, end - offsets[stream]);
            const buf = Buffer.alloc(len);
            const fd = openSync(path, "r");
            try {
              readSync(fd, buf, 0, len, offsets[stream]);
            } finally {
              closeSync(fd);
            }
            offsets[stream] += len;
            await s.writeSSE({ event: "output", data: JSON.stringify({ stream, text: buf.toString("utf8") }) });
          }
        }
      };
      await s.write(": following\n\n");
      let idleSince = Date.now();
      while (!closed) {
        const cur = deps.tasks.get(t.id);
        const done = !cur || FINISHED.has(cur.state);
        await pump();
        if (done) {
          await s.writeSSE({ event: "end", data: JSON.stringify({ state: cur?.state ?? "deleted", exitCode: cur?.exitCode ?? null, reason: cur?.reason ?? null }) });
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
        if (Date.now() - idleSince > SSE_KEEPALIVE_MS) {
          await s.write(": keep-alive\n\n");
          idleSince = Date.now();
        }
      }
    });
  });
  return app;
}

