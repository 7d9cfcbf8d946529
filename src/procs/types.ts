// The procs manager's own interfaces. The shapes it takes and reports over the wire (specs, events, snapshots,
// stats) are declared in src/protocol/procs.ts and re-exported here for the manager's modules.
import type { ProcsEvent, ReplicaSnapshot, ReplicaStats } from "../protocol/procs.ts";

export type { AdoptRecord, AppSnapshot, AppSpec, LastExit, LogLine, PortMode, ProcsEvent, ReadinessSpec, ReplicaSnapshot, ReplicaState, ReplicaStats } from "../protocol/procs.ts";

export type ProcsEventType = ProcsEvent["type"];

/** An event before the manager stamps its time. */
export type ProcsEventInput = ProcsEvent extends infer E ? (E extends ProcsEvent ? Omit<E, "at"> : never) : never;

/** What the caller (the procs worker entry) plugs in; every hook is optional and may throw safely. */
export interface ProcessManagerHooks {
  onEvent?(event: ProcsEvent): void;
  onStats?(batch: readonly ReplicaStats[]): void;
  /** Called before a replica is stopped by scale-down, so the caller can drain it from the balancer. */
  beforeStop?(replica: ReplicaSnapshot): Promise<void> | void;
}

