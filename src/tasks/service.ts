// The durable task queue on the supervisor thread: drives the pure queue (src/core/tasks) with API calls, cron
// schedules, procs worker replies and a tick; persists every record before acting on it; runs tasks through the
// procs worker's spawn path. Callable as functions (the API module and policies use the same ones).
//
//   created --start()--> adopting (tasks that ran before a crash) --> running --stop()--> stopped
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { definitionSpec, ParamError, redactEnv, resolveParams } from "../config/tasks.ts";
import type { TaskDefinitionConfig, TaskQueueConfig } from "../config/tasks-schema.ts";
import { nextRun, parseCron } from "../core/tasks/cron.ts";
import { createQueueState, decide, type QueueDecision, type QueueEvent, type QueueState, Reason } from "../core/tasks/queue.ts";
import { FINISHED, type Task, type TaskPriority, type TaskSpec, type TaskState } from "../core/tasks/types.ts";
import type { FromProcsTasks, TaskRef, TaskRunSpec } from "../protocol/tasks.ts";
import type { EventInput } from "../state/event-bus.ts";
import type { Store } from "../state/store.ts";
import { StoreError } from "../state/store-fault.ts";
import { openTaskStore, type TaskStore } from "../state/task-store.ts";
import type { Logger } from "../telemetry/logger.ts";

export interface TaskProcs {
  start(task: TaskRunSpec): Promise<{ ok: true; pid: number; startTime: number | null } | { ok: false; stage: string; message: string }>;
  adopt(tasks: readonly TaskRef[]): Promise<{ adopted: ReadonlyArray<{ id: string; pid: number; startTime: number }>; gone: readonly string[] }>;
  stop(id: string, signal: NodeJS.Signals, graceMs: number): void;
}

export interface TaskServiceDeps {
  queue(): TaskQueueConfig;
  definitions(): readonly TaskDefinitionConfig[];
  dataDir(): string;
  cores: number;
  readonly store: Store;
  readonly procs: TaskProcs;
  publish(e: EventInput): void;
  readonly log: Logger;
  now?: () => number;
}

export interface TaskFilter {
  status?: TaskState;
  priority?: TaskPriority;
  name?: string;
}

export type TaskOutcome = { ok: true; task: Task } | { ok: false; reason: "not_found" | "finished" | "not_queued" | "running"; task?: Task };

export interface TaskService {
  start(): Promise<void>;
  stop(): void;
  enqueue(spec: TaskSpec): Task;
  /** Run a config-declared task now, its parameters checked against their patterns (ParamError otherwise). */
  execute(name: string, params?: Readonly<Record<string, string>>, priority?: TaskPriority): Task;
  definition(name: string): TaskDefinitionConfig | undefined;
  definitions(): readonly TaskDefinitionConfig[];
  list(filter?: TaskFilter): Task[];
  get(id: string): Task | undefined;
  update(id: string, spec: TaskSpec): TaskOutcome;
  remove(id: string): TaskOutcome;
  cancel(id: string): TaskOutcome;
  /** The kept output of one stream: the last `tail` bytes of what was captured. */
  output(id: string, stream: "stdout" | "stderr", tail: number): { text: string; captured: number; total: number } | undefined;
  outputPath(id: string, stream: "stdout" | "stderr"): string;
  /** Messages from the procs worker about tasks; false for others. */
  handle(msg: { t: string }): boolean;
  /** The config changed: schedules are armed again from the definitions. */
  reload(): void;
  /** The procs worker restarted: follow its tasks again. */
  readopt(): Promise<void>;
  /** Next fire time of each scheduled definition. */
  schedules(): Array<{ name: string; schedule: string; timeZone: string; next: number | null }>;
  readonly state: QueueState;
  /** The environment with secret-looking values replaced. */
  redacted(t: Task): Task;
}

const TICK_MS = 250;

/** Queued and started are every task's first two steps: debug (still events, not two log lines per task at info);
 * how a task ended, retries and adoptions are info, failures warnings. */
const severityOf = (type: string) => (type === "task.failed" || type === "task.timed_out" ? "warning" : type === "task.queued" || type === "task.started" ? "debug" : "info");
/** After a stop's grace, how long more before the procs worker is asked whether the process still runs. */
const STOP_CHECK_MS = 500;

export function createTaskService(deps: TaskServiceDeps): TaskService {
  const now = deps.now ?? Date.now;
  const store: TaskStore = openTaskStore(deps.store);
  const outDir = () => resolve(join(deps.dataDir(), "tasks"));
  const maxConcurrent = () => {
    const m = deps.queue().max_concurrent;
    return m === "auto" ? Math.max(1, deps.cores) : m;
  };
  const optsNow = () => ({ maxConcurrent: maxConcurrent(), agingMs: deps.queue().aging, keepFinished: deps.queue().keep_finished });
  const state = createQueueState(optsNow(), store.all());
  let ready = false;
  let stopped = false;
  let tick: ReturnType<typeof setInterval> | undefined;
  const cronTimers = new Map<string, ReturnType<typeof setTimeout>>();

  const redacted = (t: Task): Task => ({ ...t, spec: { ...t.spec, env: redactEnv(t.spec.env) } });
  const publishOf = (type: string, t: Task, message: string) =>
    deps.publish({ type, source: "tasks", target: t.id, severity: severityOf(type), message, data: { id: t.id, name: t.spec.name, state: t.state, attempt: t.attempts.length, ...(t.exitCode !== undefined ? { exitCode: t.exitCode } : {}) } });

  const runSpec = (t: Task): TaskRunSpec => ({ id: t.id, attempt: t.attempts.length, command: t.spec.command, args: t.spec.args, env: t.spec.env, ...(t.spec.cwd ? { cwd: t.spec.cwd } : {}), outputDir: outDir(), outputLimit: t.spec.outputLimit });

  /** Records changed by decisions that act on nothing (a task now running): written with the next write, or soon. */
  const deferred = new Map<string, Task>();
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  const flushDeferred = () => {
    flushTimer = undefined;
    if (deferred.size === 0) return;
    try {
      store.write(deferred.values(), []);
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
    }
    deferred.clear();
  };
  /** Tasks whose stop was sent, checked after their grace: a process the procs worker no longer follows ends them. */
  const stopChecks = new Map<string, ReturnType<typeof setTimeout>>();

  /**
   * One transaction per decision: every record it changed is on disk before any of its starts, stops or events
   * (a task is durably `starting` before its spawn). A decision whose only change is a task now running is not
   * acted on: its record joins the next transaction (after a crash a `starting` task is looked for, as a running one).
   */
  const apply = (d: QueueDecision, defer = false): QueueDecision => {
    const puts = new Map<string, Task>();
    const deletes: string[] = [];
    for (const a of d.actions) {
      if (a.kind === "persist") puts.set(a.task.id, a.task);
      else if (a.kind === "forget") {
        puts.delete(a.id);
        deferred.delete(a.id);
        deletes.push(a.id);
      }
    }
    let unsaved = false;
    if (defer && deletes.length === 0 && !d.actions.some((a) => a.kind === "start")) {
      for (const t of puts.values()) deferred.set(t.id, t);
      flushTimer ??= setTimeout(flushDeferred, 20);
    } else if (puts.size > 0 || deletes.length > 0) {
      for (const [id, t] of deferred) if (!puts.has(id)) puts.set(id, t);
      deferred.clear();
      try {
        store.write(puts.values(), deletes);
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        unsaved = true;
      }
    }
    for (const a of d.actions) {
      switch (a.kind) {
        case "start":
          // Not on disk as starting: a crash now could run it twice, so it does not start.
          if (unsaved) queueMicrotask(() => feed({ type: "spawn-failed", id: a.task.id, message: "the state store cannot record it (see the store fault)" }));
          else launch(a.task);
          break;
        case "stop":
          deps.procs.stop(a.task.id, "SIGTERM", a.task.spec.killTimeoutMs);
          checkStopped(a.task);
          break;
        case "event":
          publishOf(a.type, a.task, a.message);
          break;
      }
    }
    return d;
  };
  /**
   * A stop sent: if the task still runs a grace (and a worker poll) later, ask the procs worker whether its process
   * runs. Gone (the worker lost track of it, or it ended unreported): the task ends (cancelled, timed out, or lost)
   * with that reason. Still running: the worker follows it now; the stop is sent again.
   */
  function checkStopped(t: Task) {
    const attempt = t.attempts.length;
    clearTimeout(stopChecks.get(t.id));
    const timer = setTimeout(() => {
      stopChecks.delete(t.id);
      const cur = state.tasks.get(t.id);
      if (stopped || !cur || cur.attempts.length !== attempt || (cur.state !== "running" && cur.state !== "starting")) return;
      const ref: TaskRef = { id: cur.id, attempt, outputDir: outDir(), outputLimit: cur.spec.outputLimit, ...(cur.pid !== undefined && cur.pidStartTime !== undefined ? { pid: cur.pid, startTime: cur.pidStartTime } : {}) };
      deps.procs.adopt([ref]).then(
        (r) => {
          const now2 = state.tasks.get(t.id);
          if (stopped || !now2 || now2.attempts.length !== attempt || (now2.state !== "running" && now2.state !== "starting")) return;
          if (r.gone.includes(t.id)) feed({ type: "lost", id: t.id, why: "its process was gone when the procs worker was asked after the stop (it had lost track of it)" });
          else {
            deps.log.warn("task still running after its stop and grace; stopping it again", { task: t.id, pid: now2.pid });
            deps.procs.stop(t.id, "SIGKILL", now2.spec.killTimeoutMs);
            checkStopped(now2);
          }
        },
        // The worker did not answer: its restart re-adopts every running task.
        (e) => deps.log.warn("task stop not confirmed by the procs worker; its restart will look for the task", { task: t.id, error: e }),
      );
    }, t.spec.killTimeoutMs + STOP_CHECK_MS);
    stopChecks.set(t.id, timer);
  }
  const feed = (e: QueueEvent, defer = false): QueueDecision => {
    state.opts = optsNow();
    return apply(decide(state, e, now()), defer);
  };

  function launch(t: Task) {
    const attempt = t.attempts.length;
    deps.procs.start(runSpec(t)).then(
      (r) => {
        if (stopped || t.attempts.length !== attempt) return;
        if (r.ok) feed({ type: "spawned", id: t.id, pid: r.pid, startTime: r.startTime }, true);
        else feed({ type: "spawn-failed", id: t.id, message: r.message });
      },
      (e) => {
        // The worker did not answer (restarting): the task may or may not have started; adoption finds out.
        if (stopped) return;
        deps.log.warn("task start not confirmed by the procs worker; looking for it", { task: t.id, error: e });
        // If the worker is down this fails too: its restart re-adopts every running or starting task.
        adoptTasks([t]).catch((err) => deps.log.warn("task not looked for yet; the procs worker's restart will", { task: t.id, error: err }));
      },
    );
  }

  async function adoptTasks(tasks: readonly Task[]) {
    if (tasks.length === 0) return;
    const refs: TaskRef[] = tasks.map((t) => ({ id: t.id, attempt: t.attempts.length, outputDir: outDir(), outputLimit: t.spec.outputLimit, ...(t.state === "running" && t.pid !== undefined && t.pidStartTime !== undefined ? { pid: t.pid, startTime: t.pidStartTime } : {}) }));
    const r = await deps.procs.adopt(refs);
    for (const a of r.adopted) {
      const t = state.tasks.get(a.id);
      if (!t) continue;
      if (t.state === "starting") feed({ type: "spawned", id: a.id, pid: a.pid, startTime: a.startTime });
      feed({ type: "adopted", id: a.id });
    }
    for (const id of r.gone) feed({ type: "lost", id });
  }

  const armCron = (d: TaskDefinitionConfig) => {
    if (!d.schedule || stopped) return;
    const cron = parseCron(d.schedule, d.time_zone);
    const at = nextRun(cron, now());
    if (at === null) return;
    // Re-armed at most a minute ahead: a clock step (NTP) is caught within a minute.
    const wait = Math.min(60_000, Math.max(0, at - now()));
    cronTimers.set(d.name, setTimeout(() => {
      cronTimers.delete(d.name);
      const cur = deps.definitions().find((x) => x.name === d.name);
      if (!cur) return;
      if (now() >= at) fire(cur);
      armCron(cur);
    }, wait));
  };
  const fire = (d: TaskDefinitionConfig) => {
    const open = [...state.tasks.values()].filter((t) => t.spec.definition === d.name && !FINISHED.has(t.state));
    if (open.length > 0 && d.overlap === "skip") {
      deps.publish({ type: "task.skipped", source: "tasks", target: d.name, severity: "info", message: `scheduled run of ${d.name} skipped: the previous one (${open.map((t) => t.id).join(", ")}) is still ${open[0]!.state}` });
      return;
    }
    if (d.overlap === "replace") for (const t of open) feed({ type: "cancel", id: t.id });
    try {
      feed({ type: "enqueue", spec: definitionSpec(d, deps.queue(), resolveParams(d)) });
    } catch (e) {
      deps.log.warn("scheduled task not queued", { task: d.name, error: e });
    }
  };
  const rearmAll = () => {
    for (const t of cronTimers.values()) clearTimeout(t);
    cronTimers.clear();
    for (const d of deps.definitions()) armCron(d);
  };

  const writable = () => {
    const f = deps.store.fault();
    if (f) throw new StoreError(f.reason, f.path, f.message);
  };
  const queuedCount = () => state.queues.low.length + state.queues.medium.length + state.queues.high.length + state.queues.critical.length;
  const outcome = (d: QueueDecision): TaskOutcome => {
    switch (d.reason) {
      case Reason.NOT_FOUND:
        return { ok: false, reason: "not_found" };
      case Reason.ALREADY_FINISHED:
        return { ok: false, reason: "finished", task: d.task! };
      case Reason.NOT_QUEUED:
        return { ok: false, reason: "not_queued", task: d.task! };
      case Reason.RUNNING:
        return { ok: false, reason: "running", task: d.task! };
      default:
        return { ok: true, task: d.task! };
    }
  };

  const service: TaskService = {
    state,
    redacted,
    async start() {
      // What ran when the agent last stopped is looked for before anything new starts in its slots.
      const was = [...state.tasks.values()].filter((t) => t.state === "running" || t.state === "starting");
      try {
        await adoptTasks(was);
      } catch (e) {
        deps.log.error("could not look for the tasks of the last run; they stay as they were until the procs worker answers", { error: e });
      }
      ready = true;
      feed({ type: "tick" });
      tick = setInterval(() => {
        if (!stopped) feed({ type: "tick" });
      }, TICK_MS);
      rearmAll();
    },
    stop() {
      stopped = true;
      if (tick) clearInterval(tick);
      for (const t of stopChecks.values()) clearTimeout(t);
      stopChecks.clear();
      if (flushTimer) clearTimeout(flushTimer);
      flushDeferred();
      for (const t of cronTimers.values()) clearTimeout(t);
      cronTimers.clear();
    },
    enqueue(spec) {
      writable();
      if (queuedCount() >= deps.queue().max_queued) throw new QueueFullError(deps.queue().max_queued);
      // Before start() (adoption pending) a task is recorded but waits: the queue starts nothing until then.
      if (!ready) {
        state.opts = { ...optsNow(), maxConcurrent: 0 };
        return apply(decide(state, { type: "enqueue", spec }, now())).task!;
      }
      return feed({ type: "enqueue", spec }).task!;
    },
    execute(name, params = {}, priority) {
      const d = deps.definitions().find((x) => x.name === name);
      if (!d) throw new ParamError("name", `no task ${name} is declared in the config`);
      const spec = definitionSpec(d, deps.queue(), resolveParams(d, params));
      return service.enqueue(priority ? { ...spec, priority } : spec);
    },
    definition: (name) => deps.definitions().find((x) => x.name === name),
    definitions: () => deps.definitions(),
    list(filter = {}) {
      const out: Task[] = [];
      for (const t of state.tasks.values()) {
        if (filter.status !== undefined && t.state !== filter.status) continue;
        if (filter.priority !== undefined && t.spec.priority !== filter.priority) continue;
        if (filter.name !== undefined && t.spec.name !== filter.name) continue;
        out.push(t);
      }
      return out.sort((a, b) => b.seq - a.seq);
    },
    get: (id) => state.tasks.get(id),
    update(id, spec) {
      writable();
      return outcome(feed({ type: "update", id, spec }));
    },
    remove(id) {
      writable();
      return outcome(feed({ type: "delete", id }));
    },
    cancel(id) {
      writable();
      return outcome(feed({ type: "cancel", id }));
    },
    outputPath: (id, stream) => join(outDir(), `task-${id}.${stream}.log`),
    output(id, stream, tail) {
      const t = state.tasks.get(id);
      if (!t) return undefined;
      const path = service.outputPath(id, stream);
      let size = 0;
      try {
        size = statSync(path).size;
      } catch {
        return { text: "", captured: 0, total: 0 };
      }
      const from = Math.max(0, Math.min(size, t.spec.outputLimit) - tail);
      const len = Math.max(0, Math.min(size, t.spec.outputLimit) - from);
      const buf = Buffer.alloc(len);
      const fd = openSync(path, "r");
      try {
        readSync(fd, buf, 0, len, from);
      } finally {
        closeSync(fd);
      }
      const total = t.output ? (stream === "stdout" ? t.output.stdoutBytes : t.output.stderrBytes) : size;
      return { text: buf.toString("utf8"), captured: Math.min(size, t.spec.outputLimit), total: Math.max(total, size) };
    },
    handle(msg) {
      if (msg.t !== "procs.task-exit") return false;
      const m = msg as FromProcsTasks;
      const t = state.tasks.get(m.id);
      if (!t || t.attempts.length !== m.attempt) return true;
      const unknown = m.adopted && m.code === null && m.signal === null;
      feed({ type: "exited", id: m.id, code: m.code, signal: m.signal, output: m.output, ...(unknown ? { statusUnknown: true } : {}) });
      return true;
    },
    reload: () => rearmAll(),
    async readopt() {
      await adoptTasks([...state.tasks.values()].filter((t) => t.state === "running" || t.state === "starting"));
    },
    schedules: () =>
      deps.definitions().flatMap((d) => (d.schedule ? [{ name: d.name, schedule: d.schedule, timeZone: d.time_zone, next: nextRun(parseCron(d.schedule, d.time_zone), now()) }] : [])),
  };
  return service;
}

export class QueueFullError extends Error {
  readonly _tag = "QueueFullError";
  constructor(readonly max: number) {
    super(`the task queue holds its maximum of ${max} queued tasks (task_queue.max_queued); try again when some have run`);
  }
}

