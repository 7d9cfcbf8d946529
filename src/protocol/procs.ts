// Messages between the supervisor and the procs worker. The shapes of specs, events and stats are declared in
// src/procs/types.ts and re-exported here so this file stays the one list of what crosses the thread boundary.
import type { AdoptRecord, AppSnapshot, AppSpec, LogLine, ProcsEvent, ReplicaSnapshot, ReplicaStats } from "../procs/types.ts";

export type { AdoptRecord, AppSnapshot, AppSpec, LogLine, ProcsEvent, ReplicaSnapshot, ReplicaStats };

/** Part of the procs worker's init state. */
export interface ProcsInit {
  readonly apps: readonly AppSpec[];
  /** Replicas recorded before the agent last stopped: adopted if still alive, else stopped. */
  readonly adopt: readonly AdoptRecord[];
}

/** Supervisor -> procs. Messages with `id` are requests answered with a reply. */
export type ToProcs =
  | { readonly t: "procs.apply"; readonly apps: readonly AppSpec[] }
  | { readonly t: "procs.scale"; readonly id: number; readonly app: string; readonly replicas: number }
  | { readonly t: "procs.restart-replica"; readonly id: number; readonly app: string; readonly replica: number }
  | { readonly t: "procs.rolling-restart"; readonly id: number; readonly app: string }
  | { readonly t: "procs.reset"; readonly id: number; readonly app: string }
  | { readonly t: "procs.logs"; readonly id: number; readonly app: string; readonly replica?: number; readonly tail: number }
  | { readonly t: "procs.snapshot"; readonly id: number }
  /** Takeover: stop supervising every replica without stopping any; a successor agent adopts them. */
  | { readonly t: "procs.release"; readonly id: number }
  | { readonly t: "procs.follow"; readonly app: string; readonly on: boolean }
  /** The supervisor finished a hook the worker asked for (drain before stop, route to a new replica). */
  | { readonly t: "procs.hook-done"; readonly hook: number; readonly error?: string };

/** Procs -> supervisor. */
export type FromProcs =
  | { readonly t: "procs.event"; readonly event: ProcsEvent }
  | { readonly t: "procs.stats"; readonly batch: readonly ReplicaStats[] }
  | { readonly t: "procs.log"; readonly line: LogLine }
  /** Asks the supervisor to act before the worker goes on; answered with procs.hook-done. */
  | { readonly t: "procs.hook"; readonly hook: number; readonly kind: "drain" | "ready"; readonly replica: ReplicaSnapshot };
