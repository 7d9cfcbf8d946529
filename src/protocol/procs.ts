// Messages between the supervisor and the procs worker. The shapes of specs, events and stats are declared in
// src/procs/types.ts and re-exported here so this file stays the one list of what crosses the thread boundary.
import type { InitMessage } from "./common.ts";
import type { AdoptRecord, AppSnapshot, AppSpec, LogLine, ProcsEvent, ReplicaSnapshot, ReplicaStats } from "../procs/types.ts";

export type { AdoptRecord, AppSnapshot, AppSpec, LogLine, ProcsEvent, ReplicaSnapshot, ReplicaStats };

/** Part of the procs worker's init state. */
export interface ProcsInit {
  readonly apps: readonly AppSpec[];
  /** Replicas recorded before the agent last stopped: adopted if still alive, else stopped. */
  readonly adopt: readonly AdoptRecord[];
}

/** Supervisor -> procs, one-way. */
export type ToProcs =
  | InitMessage<ProcsInit>
  | { readonly t: "procs.apply"; readonly apps: readonly AppSpec[] }
  | { readonly t: "procs.follow"; readonly app: string; readonly on: boolean }
  /** The supervisor finished a hook the worker asked for (drain before stop, route to a new replica). */
  | { readonly t: "procs.hook-done"; readonly hook: number; readonly error?: string };

export type RollingRestartResult = { readonly ok: true; readonly replaced: number } | { readonly ok: false; readonly replaced: number; readonly reason: string };

/** Supervisor -> procs requests and their replies. */
export type ProcsRequests = {
  readonly "procs.scale": { readonly body: { readonly app: string; readonly replicas: number }; readonly reply: { readonly app: string; readonly replicas: number } };
  readonly "procs.restart-replica": { readonly body: { readonly app: string; readonly replica: number }; readonly reply: { readonly app: string; readonly replica: number } };
  readonly "procs.rolling-restart": { readonly body: { readonly app: string }; readonly reply: RollingRestartResult };
  readonly "procs.reset": { readonly body: { readonly app: string }; readonly reply: { readonly app: string } };
  readonly "procs.logs": { readonly body: { readonly app: string; readonly replica?: number; readonly tail: number }; readonly reply: LogLine[] };
  readonly "procs.snapshot": { readonly body: object; readonly reply: AppSnapshot[] };
  /** Takeover: stop supervising every replica without stopping any; a successor agent adopts them. */
  readonly "procs.release": { readonly body: object; readonly reply: { readonly released: number } };
};

/** Procs -> supervisor. */
export type FromProcs =
  | { readonly t: "procs.event"; readonly event: ProcsEvent }
  | { readonly t: "procs.stats"; readonly batch: readonly ReplicaStats[] }
  | { readonly t: "procs.log"; readonly line: LogLine }
  /** Asks the supervisor to act before the worker goes on; answered with procs.hook-done. */
  | { readonly t: "procs.hook"; readonly hook: number; readonly kind: "drain" | "ready"; readonly replica: ReplicaSnapshot };
