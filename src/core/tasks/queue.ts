// The task queue: a pure state machine over task records. decide(state, event, now) applies one event and says what
// to do: persist a record (always before acting on it), start a task, stop one, publish. Scheduling is strict
// priority with aging (a task waiting `agingMs` counts one priority higher, so low cannot starve), FIFO within a
// priority, a global concurrency limit and per-key limits. It does no I/O and reads no clock.
import { FINISHED, PRIORITIES, type OutputInfo, type Task, type TaskSpec, type TaskState } from "./types.ts";

export const Reason = {
  QUEUED: "queued",
  STARTED: "started",
  SUCCEEDED: "succeeded",
  FAILED: "failed",
  RETRYING: "retrying",
  TIMED_OUT: "timed-out",
  CANCELLED: "cancelled",
  CANCELLING: "cancelling",
  ALREADY_FINISHED: "already-finished",
  NOT_FOUND: "not-found",
  NOT_QUEUED: "not-queued",
  UPDATED: "updated",
  DELETED: "deleted",
  RUNNING: "running",
  LOST: "lost",
  ADOPTED: "adopted",
  TICK: "tick",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export type TaskAction =
  | { readonly kind: "persist"; readonly task: Task }
  | { readonly kind: "forget"; readonly id: string }
  | { readonly kind: "start"; readonly task: Task }
  | { readonly kind: "stop"; readonly task: Task; readonly why: "cancel" | "timeout" }
  | { readonly kind: "event"; readonly type: string; readonly task: Task; readonly message: string };

export interface QueueOptions {
  /** Tasks running at once, at most (default: cores). */
  maxConcurrent: number;
  /** Waiting this long raises a task's effective priority by one step. */
  agingMs: number;
  /** Finished tasks kept; the oldest go first. */
  keepFinished: number;
}

export interface QueueState {
  opts: QueueOptions;
  readonly tasks: Map<string, Task>;
  /** Queued ids per priority, in arrival order. */
  readonly queues: Record<(typeof PRIORITIES)[number], string[]>;
  /** Running (or starting) per concurrency key, and in all. */
  readonly perKey: Map<string, number>;
  active: number;
  /** Active tasks with a deadline: what the tick looks at (not every kept task). */
  readonly deadlines: Set<string>;
  readonly finishedOrder: string[];
  nextSeq: number;
  nextId: number;
}

export type QueueEvent =
  | { readonly type: "enqueue"; readonly spec: TaskSpec }
  | { readonly type: "spawned"; readonly id: string; readonly pid: number; readonly startTime: number | null }
  | { readonly type: "spawn-failed"; readonly id: string; readonly message: string }
  | { readonly type: "exited"; readonly id: string; readonly code: number | null; readonly signal: string | null; readonly output?: OutputInfo; readonly statusUnknown?: boolean }
  | { readonly type: "cancel"; readonly id: string }
  | { readonly type: "update"; readonly id: string; readonly spec: TaskSpec }
  | { readonly type: "delete"; readonly id: string }
  /** After an agent restart: the task was running and its process is gone. */
  | { readonly type: "lost"; readonly id: string; readonly why?: string }
  /** After an agent restart: the task's process is still running, now followed again. */
  | { readonly type: "adopted"; readonly id: string }
  /** Timeouts, backoffs that ended, slots that freed: start what can start. */
  | { readonly type: "tick" };

export interface QueueDecision {
  readonly actions: TaskAction[];
  readonly reason: Reason;
  readonly task?: Task;
}

const RANK: Record<string, number> = { low: 0, medium: 1, high: 2, critical: 3 };

export function createQueueState(opts: QueueOptions, restored: readonly Task[] = []): QueueState {
  const s: QueueState = { opts, tasks: new Map(), queues: { low: [], medium: [], high: [], critical: [] }, perKey: new Map(), active: 0, deadlines: new Set(), finishedOrder: [], nextSeq: 1, nextId: 1 };
  for (const t of [...restored].sort((a, b) => a.seq - b.seq)) {
    s.tasks.set(t.id, t);
    s.nextSeq = Math.max(s.nextSeq, t.seq + 1);
    const n = Number(t.id);
    if (Number.isFinite(n)) s.nextId = Math.max(s.nextId, n + 1);
    if (t.state === "queued") s.queues[t.spec.priority].push(t.id);
    else if (t.state === "starting" || t.state === "running") {
      occupy(s, t, 1);
      if (t.deadline !== undefined) s.deadlines.add(t.id);
    }
    else s.finishedOrder.push(t.id);
  }
  s.finishedOrder.sort((a, b) => (s.tasks.get(a)!.finishedAt ?? 0) - (s.tasks.get(b)!.finishedAt ?? 0));
  return s;
}

function occupy(s: QueueState, t: Task, d: 1 | -1) {
  s.active += d;
  const k = t.spec.concurrencyKey;
  if (k !== undefined) {
    const n = (s.perKey.get(k) ?? 0) + d;
    if (n <= 0) s.perKey.delete(k);
    else s.perKey.set(k, n);
  }
}

const removeFrom = (list: string[], id: string) => {
  const i = list.indexOf(id);
  if (i >= 0) list.splice(i, 1);
};

/** Effective priority: base rank plus one per agingMs waited, capped at critical. */
export function effectiveRank(t: Task, now: number, agingMs: number): number {
  return Math.min(3, RANK[t.spec.priority]! + (agingMs > 0 ? Math.floor(Math.max(0, now - t.queuedAt) / agingMs) : 0));
}

const keyFree = (s: QueueState, t: Task) => t.spec.concurrencyKey === undefined || (s.perKey.get(t.spec.concurrencyKey) ?? 0) < t.spec.concurrencyLimit;

/** The next task to start now, or undefined: per priority, the first eligible one (oldest); the best of those wins. */
function pick(s: QueueState, now: number): Task | undefined {
  let best: Task | undefined;
  let bestRank = -1;
  for (const p of PRIORITIES) {
    for (const id of s.queues[p]) {
      const t = s.tasks.get(id)!;
      if (t.notBefore > now || !keyFree(s, t)) continue;
      const r = effectiveRank(t, now, s.opts.agingMs);
      if (r > bestRank || (r === bestRank && t.seq < best!.seq)) {
        best = t;
        bestRank = r;
      }
      // Later ones of this priority waited less: they cannot rank higher.
      break;
    }
  }
  return best;
}

function startWhatCan(s: QueueState, now: number, actions: TaskAction[]) {
  while (s.active < s.opts.maxConcurrent) {
    const t = pick(s, now);
    if (!t) return;
    removeFrom(s.queues[t.spec.priority], t.id);
    t.state = "starting";
    t.startedAt = now;
    t.attempts.push({ attempt: t.attempts.length + 1, startedAt: now });
    if (t.spec.timeoutMs > 0) {
      t.deadline = now + t.spec.timeoutMs;
      s.deadlines.add(t.id);
    }
    occupy(s, t, 1);
    // Persisted as starting before the spawn: after a crash, a starting task is looked for, never blindly re-run.
    actions.push({ kind: "persist", task: t }, { kind: "start", task: t });
  }
}

function finish(s: QueueState, t: Task, state: TaskState, reason: string, now: number, actions: TaskAction[]) {
  const wasActive = t.state === "starting" || t.state === "running";
  if (wasActive) occupy(s, t, -1);
  const last = t.attempts[t.attempts.length - 1];
  if (last && wasActive && last.finishedAt === undefined) {
    last.finishedAt = now;
    last.outcome = state === "succeeded" || state === "failed" ? "exited" : state;
    if (t.exitCode !== undefined) last.exitCode = t.exitCode;
    if (t.signal !== undefined) last.signal = t.signal;
    last.message = reason;
  }
  delete t.deadline;
  s.deadlines.delete(t.id);
  t.reason = reason;
  // Failures, timeouts and lost runs are retried while attempts remain; cancels never are.
  const retryable = state === "failed" || state === "timed_out" || state === "lost";
  if (retryable && !t.cancelRequested && t.attempts.length <= t.spec.retries.max) {
    const delay = Math.min(t.spec.retries.maxBackoffMs, t.spec.retries.backoffMs * 2 ** (t.attempts.length - 1));
    t.state = "queued";
    t.notBefore = now + delay;
    t.queuedAt = now;
    delete t.pid;
    delete t.pidStartTime;
    s.queues[t.spec.priority].push(t.id);
    actions.push({ kind: "persist", task: t }, { kind: "event", type: "task.retrying", task: t, message: `task ${t.id} (${t.spec.name}) ${state.replace("_", " ")}: ${reason}; attempt ${t.attempts.length + 1} of ${t.spec.retries.max + 1} in ${delay} ms` });
    return;
  }
  t.state = state === "lost" ? "failed" : state;
  t.finishedAt = now;
  s.finishedOrder.push(t.id);
  actions.push({ kind: "persist", task: t }, { kind: "event", type: `task.${t.state}`, task: t, message: `task ${t.id} (${t.spec.name}) ${t.state.replace("_", " ")}: ${reason}` });
  while (s.finishedOrder.length > s.opts.keepFinished) {
    const id = s.finishedOrder.shift()!;
    s.tasks.delete(id);
    actions.push({ kind: "forget", id });
  }
}

export function decide(s: QueueState, e: QueueEvent, now: number): QueueDecision {
  const actions: TaskAction[] = [];
  const out = (reason: Reason, task?: Task): QueueDecision => {
    startWhatCan(s, now, actions);
    return { actions, reason, ...(task ? { task } : {}) };
  };
  if (e.type === "enqueue") {
    const t: Task = { id: String(s.nextId++), spec: e.spec, state: "queued", seq: s.nextSeq++, createdAt: now, queuedAt: now, notBefore: now, attempts: [] };
    s.tasks.set(t.id, t);
    s.queues[t.spec.priority].push(t.id);
    actions.push({ kind: "persist", task: t }, { kind: "event", type: "task.queued", task: t, message: `task ${t.id} (${t.spec.name}) queued at ${t.spec.priority} priority` });
    return out(Reason.QUEUED, t);
  }
  if (e.type === "tick") {
    for (const id of s.deadlines) {
      const t = s.tasks.get(id);
      if (!t || t.deadline === undefined) {
        s.deadlines.delete(id);
        continue;
      }
      if (t.state === "running" && now >= t.deadline && !t.cancelRequested) {
        delete t.deadline;
        s.deadlines.delete(id);
        t.reason = "timeout";
        actions.push({ kind: "stop", task: t, why: "timeout" });
      }
    }
    return out(Reason.TICK);
  }
  const t = s.tasks.get(e.id);
  if (!t) return out(Reason.NOT_FOUND);
  switch (e.type) {
    case "spawned": {
      if (t.state !== "starting") return out(Reason.NOT_QUEUED, t);
      t.state = "running";
      t.pid = e.pid;
      if (e.startTime !== null) t.pidStartTime = e.startTime;
      t.attempts[t.attempts.length - 1]!.pid = e.pid;
      actions.push({ kind: "persist", task: t }, { kind: "event", type: "task.started", task: t, message: `task ${t.id} (${t.spec.name}) started, pid ${e.pid}, attempt ${t.attempts.length}` });
      // A cancel that came while it was starting is carried out now that there is a process.
      if (t.cancelRequested) actions.push({ kind: "stop", task: t, why: "cancel" });
      return out(Reason.STARTED, t);
    }
    case "spawn-failed":
      if (t.state !== "starting") return out(Reason.NOT_QUEUED, t);
      t.exitCode = null;
      finish(s, t, t.cancelRequested ? "cancelled" : "failed", `could not start: ${e.message}`, now, actions);
      return out(Reason.FAILED, t);
    case "exited": {
      if (t.state !== "running" && t.state !== "starting") return out(Reason.NOT_QUEUED, t);
      t.exitCode = e.code;
      t.signal = e.signal;
      if (e.output) t.output = e.output;
      const how = e.code !== null ? `exit code ${e.code}` : `killed by ${e.signal ?? "a signal"}`;
      if (t.cancelRequested) finish(s, t, "cancelled", `cancelled (${how})`, now, actions);
      // An adopted process is not the agent's child: where the host cannot tell its status (see exit-status.ts) it
      // ran once and is not run again.
      else if (e.statusUnknown) {
        finish(s, t, "succeeded", "ended after the agent restarted; its exit status is unknown (it was not the agent's child, and this host kept no status for it)", now, actions);
        t.attempts[t.attempts.length - 1]!.outcome = "adopted-exit-unknown";
      }
      else if (t.reason === "timeout") finish(s, t, "timed_out", `ran longer than its timeout of ${t.spec.timeoutMs} ms (${how})`, now, actions);
      else if (e.code === 0) finish(s, t, "succeeded", how, now, actions);
      else finish(s, t, "failed", how, now, actions);
      const after = t.state as TaskState;
      return out(after === "queued" ? Reason.RETRYING : after === "timed_out" ? Reason.TIMED_OUT : (after as Reason), t);
    }
    case "cancel": {
      if (FINISHED.has(t.state)) return out(Reason.ALREADY_FINISHED, t);
      if (t.state === "queued") {
        removeFrom(s.queues[t.spec.priority], t.id);
        t.cancelRequested = true;
        finish(s, t, "cancelled", "cancelled before it started", now, actions);
        return out(Reason.CANCELLED, t);
      }
      if (t.cancelRequested) return out(Reason.CANCELLING, t);
      t.cancelRequested = true;
      actions.push({ kind: "persist", task: t });
      if (t.state === "running") actions.push({ kind: "stop", task: t, why: "cancel" });
      return out(Reason.CANCELLING, t);
    }
    case "update": {
      if (t.state !== "queued") return out(Reason.NOT_QUEUED, t);
      removeFrom(s.queues[t.spec.priority], t.id);
      const next: Task = { ...t, spec: e.spec };
      s.tasks.set(t.id, next);
      s.queues[next.spec.priority].push(t.id);
      s.queues[next.spec.priority].sort((a, b) => s.tasks.get(a)!.seq - s.tasks.get(b)!.seq);
      actions.push({ kind: "persist", task: next });
      return out(Reason.UPDATED, next);
    }
    case "delete": {
      if (t.state === "running" || t.state === "starting") return out(Reason.RUNNING, t);
      if (t.state === "queued") removeFrom(s.queues[t.spec.priority], t.id);
      else removeFrom(s.finishedOrder, t.id);
      s.tasks.delete(t.id);
      actions.push({ kind: "forget", id: t.id });
      return out(Reason.DELETED, t);
    }
    case "lost": {
      if (t.state !== "running" && t.state !== "starting") return out(Reason.NOT_QUEUED, t);
      t.exitCode = null;
      const why = e.why ?? "the agent stopped while it ran and its process is gone";
      // A stop was asked for: it ends as that stop would have (a cancel is never retried; a timeout is, per policy).
      if (t.cancelRequested) {
        finish(s, t, "cancelled", `cancelled; ${why}`, now, actions);
        return out(Reason.CANCELLED, t);
      }
      if (t.reason === "timeout") {
        finish(s, t, "timed_out", `ran longer than its timeout of ${t.spec.timeoutMs} ms; ${why}`, now, actions);
        return out((t.state as TaskState) === "queued" ? Reason.RETRYING : Reason.TIMED_OUT, t);
      }
      finish(s, t, "lost", why, now, actions);
      const last = t.attempts[t.attempts.length - 1];
      if (last) last.outcome = "lost";
      return out(Reason.LOST, t);
    }
    case "adopted": {
      const last = t.attempts[t.attempts.length - 1];
      if (last && !last.adopted) {
        last.adopted = true;
        actions.push({ kind: "persist", task: t });
      }
      actions.push({ kind: "event", type: "task.adopted", task: t, message: `task ${t.id} (${t.spec.name}) still running after the agent restarted (pid ${t.pid}): followed again, not started twice` });
      return out(Reason.ADOPTED, t);
    }
  }
}
