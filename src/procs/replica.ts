// One replica slot of an app: its identity (id, port), its current process run, recent output and counters.
//
//   starting ──▶ ready ──▶ stopping ──▶ stopped          (operator stop, scale-down)
//      │           │
//      └───────────┴──(exit / spawn failure / our kill)──▶ backoff ──▶ starting
//                                                      ├─▶ crash-loop ──(cooldown | reset)──▶ starting
//                                                      └─▶ exited | failed   (policy says no restart)
import type { Subprocess } from "bun";
import { type RestartState } from "../core/supervision/restart-policy.ts";
import type { KillCause } from "../core/supervision/restart-policy.ts";
import { LogSink } from "./log-sink.ts";
import type { FileTail } from "./output-tail.ts";
import type { ResolvedSpec } from "./spec.ts";
import type { DriverRun } from "./drivers/driver.ts";
import type { ResourceUsage } from "../protocol/drivers.ts";
import type { LastExit, LogLine, ReplicaSnapshot, ReplicaState } from "./types.ts";

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export type ReadyOutcome = { ok: true } | { ok: false; reason: string };

/** One process lifetime inside a replica slot. */
export interface Run {
  readonly pid: number;
  /** Null for an adopted process: it is not our child, so we poll it. */
  readonly proc: Subprocess<"ignore", number, number> | null;
  readonly startTime: number | null;
  readonly startedAtWall: number;
  readonly startedAtMono: number;
  /** Resolves once the exit was observed and handled (leftovers killed, event sent). */
  readonly ended: Deferred<void>;
  /** First readiness outcome of this run. */
  readonly ready: Deferred<ReadyOutcome>;
  /** Tails of the files its stdout and stderr go to; null until attached (an adopted run waits for its app's spec). */
  output: { readonly stdout: FileTail; readonly stderr: FileTail } | null;
  /** What its driver holds for it (cgroup, container); null for a plain exec run without limits, or once released. */
  driver: DriverRun | null;
  isReady: boolean;
  /** Set when we kill it ourselves, so the decision knows why. */
  cause: KillCause | null;
  /** Set when the operator (or scale-down / stopAll) asked it to stop. */
  stopping: boolean;
  lastBeatMono: number;
  prevTicks: number | null;
  prevTicksAt: number;
}

export class Replica {
  state: ReplicaState = "starting";
  run: Run | null = null;
  restarts = 0;
  lastExit: LastExit | null = null;
  cpuPercent = 0;
  rssBytes = 0;
  /** Its cgroup's counters at the last stats tick. */
  usage: ResourceUsage | null = null;
  /** The pending restart (backoff), or the end of this slot's crash-loop cooldown. */
  timer: ReturnType<typeof setTimeout> | null = null;
  adopted = false;
  /** False for an adopted process of another revision whose fields this manager never saw. */
  specKnown = true;
  /** The last process in this slot was ready on `port`: its replacement may take the port back without a scan. */
  portProven = false;
  readonly sink: LogSink;

  constructor(
    readonly app: string,
    readonly id: number,
    public port: number | null,
    public restart: RestartState,
    /** The spec its processes run: its revision's fields under the app's current settings (spec.ts underApp). */
    public spec: ResolvedSpec,
  ) {
    this.sink = new LogSink({ ringLines: spec.logs.ringLines });
  }

  /** Live means a process exists that we must stop before forgetting this slot. */
  get live(): boolean {
    return this.run !== null;
  }

  clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  snapshot(): ReplicaSnapshot {
    return {
      app: this.app,
      id: this.id,
      pid: this.run?.pid ?? null,
      port: this.port,
      state: this.state,
      restarts: this.restarts,
      startedAt: this.run?.startedAtWall ?? null,
      startTime: this.run?.startTime ?? null,
      adopted: this.adopted,
      cpuPercent: this.cpuPercent,
      rssBytes: this.rssBytes,
      lastExit: this.lastExit,
      revision: this.spec.revision,
      usage: this.usage,
    };
  }
}

/** One app as the manager holds it; replicas keyed by id. */
export interface App {
  spec: ResolvedSpec | null;
  readonly replicas: Map<number, Replica>;
  /** The app-level verdict as last reported: most slots are looping (each slot has its own budget; see crash-loop.ts). */
  inCrashLoop: boolean;
  /** Tail of the per-app operation queue. */
  queue: Promise<unknown>;
  readonly followers: Set<(line: LogLine) => void>;
}
