// Runs tasks for the supervisor's queue, through the worker's one spawn path: each in its own process group, its
// output appended to files of which the first `outputLimit` bytes per stream are kept (the rest is cut off and
// counted), stopped with a signal to the group then SIGKILL after the grace. After a restart it adopts tasks whose
// process still runs (pid + /proc start time, or found by their environment), polling them until they end.
//
//   start --spawned--> running --exit--> reported once (task-exit)        stop: signal, SIGKILL after graceMs
import { ftruncateSync, openSync, closeSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { FromProcsTasks, OutputInfo, TaskRef, TaskRunSpec, TaskStartReply } from "../protocol/tasks.ts";
import { close as closeWatch, type ExitWatch, lookExit, watchExit } from "./exit-status.ts";
import { environOf, OWNER_ENV } from "./orphans.ts";
import { liveProcesses } from "./proc-stat.ts";
import { groupAlive, signalGroup } from "./process-group.ts";
import { SpawnError, spawnDetached } from "./spawn.ts";

export const TASK_ID_ENV = "POLIS_TASK_ID";
export const TASK_ATTEMPT_ENV = "POLIS_TASK_ATTEMPT";
/** How often output sizes are held to their limit and adopted tasks are checked. */
const WATCH_MS = 250;

export function taskOutputPaths(dir: string, id: string) {
  return { stdout: join(dir, `task-${id}.stdout.log`), stderr: join(dir, `task-${id}.stderr.log`) };
}

interface Running {
  readonly id: string;
  readonly attempt: number;
  readonly pid: number;
  readonly startTime: number | null;
  readonly paths: { stdout: string; stderr: string };
  readonly limit: number;
  readonly adopted: boolean;
  /** An adopted task is not our child: its end and exit status are read through this (see exit-status.ts). */
  readonly watch?: ExitWatch;
  /** Bytes cut off past the limit so far, per stream. */
  cut: { stdout: number; stderr: number };
  killTimer?: ReturnType<typeof setTimeout>;
  done: boolean;
}

export interface TaskRunner {
  start(spec: TaskRunSpec): TaskStartReply;
  adopt(tasks: readonly TaskRef[]): { adopted: Array<{ id: string; pid: number; startTime: number }>; gone: string[] };
  stop(id: string, signal: NodeJS.Signals, graceMs: number): void;
  /** Worker shutdown: stop following (the tasks keep running; a restarted agent adopts them). */
  close(): void;
}

// No exception for a file not there yet (each start looks at two): an error object per call costs more than the stat.
const size = (p: string) => {
  try {
    return statSync(p, { throwIfNoEntry: false })?.size ?? 0;
  } catch {
    return 0;
  }
};

/** Cuts a stream's file back to `limit` bytes (appends go on from there), counting what was cut. */
function hold(path: string, limit: number): number {
  return cutTo(path, size(path), limit);
}

/** What a file holds once cut back to its limit, and how much was cut. */
function final(path: string, limit: number): { kept: number; cut: number } {
  const n = size(path);
  const cut = cutTo(path, n, limit);
  return { kept: n - cut, cut };
}

function cutTo(path: string, n: number, limit: number): number {
  if (n <= limit) return 0;
  try {
    const fd = openSync(path, "r+");
    try {
      ftruncateSync(fd, limit);
    } finally {
      closeSync(fd);
    }
    return n - limit;
  } catch {
    return 0;
  }
}

export function createTaskRunner(send: (m: FromProcsTasks) => void): TaskRunner {
  const running = new Map<string, Running>();
  // The agent's environment, read once: spreading process.env per task walks the C environment each time (~18 µs).
  const baseEnv: Record<string, string | undefined> = { ...process.env };
  let watch: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  /** The final sizes: one stat per stream (a file past its limit is cut back to it first). */
  const output = (r: Running): OutputInfo => {
    const so = final(r.paths.stdout, r.limit);
    const se = final(r.paths.stderr, r.limit);
    r.cut.stdout += so.cut;
    r.cut.stderr += se.cut;
    return { stdoutBytes: so.kept + r.cut.stdout, stderrBytes: se.kept + r.cut.stderr, stdoutCaptured: so.kept, stderrCaptured: se.kept };
  };

  const ended = (r: Running, code: number | null, signal: string | null) => {
    if (r.done || closed) return;
    r.done = true;
    if (r.killTimer) clearTimeout(r.killTimer);
    if (r.watch) closeWatch(r.watch);
    running.delete(r.id);
    send({ t: "procs.task-exit", id: r.id, attempt: r.attempt, code, signal, adopted: r.adopted, output: output(r) });
    if (running.size === 0 && watch) {
      clearInterval(watch);
      watch = undefined;
    }
  };

  const ensureWatch = () => {
    watch ??= setInterval(() => {
      for (const r of running.values()) {
        r.cut.stdout += hold(r.paths.stdout, r.limit);
        r.cut.stderr += hold(r.paths.stderr, r.limit);
        // An adopted task is not our child: no exit event, so it is looked at here (null and null: status unknown).
        if (!r.watch) continue;
        const look = lookExit(r.watch);
        if (look.state === "exited") ended(r, look.code, look.signal);
        else if (look.state === "unknown") ended(r, null, null);
      }
    }, WATCH_MS);
  };

  const follow = (r: Running) => {
    running.set(r.id, r);
    ensureWatch();
  };

  return {
    start(spec) {
      const dir = resolve(spec.outputDir);
      const paths = taskOutputPaths(dir, spec.id);
      let s;
      try {
        s = spawnDetached({
          command: spec.command,
          args: spec.args,
          ...(spec.cwd ? { cwd: spec.cwd } : {}),
          env: Object.assign({}, baseEnv, spec.env, { [OWNER_ENV]: dir, [TASK_ID_ENV]: spec.id, [TASK_ATTEMPT_ENV]: String(spec.attempt) }),
          dir,
          paths,
          // Each attempt starts its files afresh: what is kept is this attempt's output.
          fresh: true,
        });
      } catch (e) {
        return { ok: false, stage: e instanceof SpawnError ? e.stage : "spawn", message: (e as Error).message };
      }
      const r: Running = { id: spec.id, attempt: spec.attempt, pid: s.pid, startTime: s.startTime, paths, limit: spec.outputLimit, adopted: false, cut: { stdout: 0, stderr: 0 }, done: false };
      follow(r);
      s.proc.exited.then(
        () => ended(r, s.proc.exitCode, s.proc.signalCode === null || s.proc.signalCode === undefined ? null : String(s.proc.signalCode)),
        () => ended(r, null, null),
      );
      return { ok: true, pid: s.pid, startTime: s.startTime };
    },
    adopt(tasks) {
      const adopted: Array<{ id: string; pid: number; startTime: number }> = [];
      const gone: string[] = [];
      const unknown = tasks.filter((t) => t.pid === undefined && !running.has(t.id));
      // Tasks that were starting when the agent died: found by their environment, if they run at all.
      const found = new Map<string, { pid: number; startTime: number }>();
      if (unknown.length > 0) {
        const wanted = new Map(unknown.map((t) => [t.id, resolve(t.outputDir)]));
        for (const st of liveProcesses()) {
          if (st.pid <= 1 || st.pgrp !== st.pid) continue;
          const env = environOf(st.pid);
          const id = env?.get(TASK_ID_ENV);
          if (id !== undefined && wanted.get(id) === env!.get(OWNER_ENV)) found.set(id, { pid: st.pid, startTime: st.startTime });
        }
      }
      for (const t of tasks) {
        if (running.has(t.id)) {
          const r = running.get(t.id)!;
          adopted.push({ id: t.id, pid: r.pid, startTime: r.startTime ?? 0 });
          continue;
        }
        const at = t.pid !== undefined && t.startTime !== undefined ? { pid: t.pid, startTime: t.startTime } : found.get(t.id);
        // A zombie counts as found: it ended while we were away, and its status is still there to read.
        const watch = at ? watchExit(at.pid, at.startTime) : null;
        if (!at || !watch) {
          gone.push(t.id);
          continue;
        }
        const paths = taskOutputPaths(resolve(t.outputDir), t.id);
        follow({ id: t.id, attempt: t.attempt, pid: at.pid, startTime: at.startTime, paths, limit: t.outputLimit, adopted: true, watch, cut: { stdout: 0, stderr: 0 }, done: false });
        adopted.push({ id: t.id, ...at });
      }
      return { adopted, gone };
    },
    stop(id, signal, graceMs) {
      const r = running.get(id);
      if (!r || r.done) return;
      signalGroup(r.pid, signal);
      r.killTimer ??= setTimeout(() => {
        if (!r.done && groupAlive(r.pid)) signalGroup(r.pid, "SIGKILL");
      }, graceMs);
    },
    close() {
      closed = true;
      if (watch) clearInterval(watch);
      for (const r of running.values()) {
        if (r.killTimer) clearTimeout(r.killTimer);
        if (r.watch) closeWatch(r.watch);
      }
      running.clear();
    },
  };
}
