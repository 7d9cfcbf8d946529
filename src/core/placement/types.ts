// The placement scheduler's inputs and outputs: cluster apps (what to run and where it may go), nodes (what the
// cluster knows of each host), allocations (slot -> node). Pure data; see scheduler.ts for the rules.

export type ConstraintOp = "eq" | "neq" | "in" | "exists";

/** A rule on a node label, as Nomad's `constraint` (attribute, operator, value). */
export interface Constraint {
  readonly label: string;
  readonly op: ConstraintOp;
  /** For eq / neq. */
  readonly value?: string;
  /** For in. */
  readonly values?: readonly string[];
}

export type Spread = "zone" | "node" | "none";

export interface PlacementApp {
  readonly name: string;
  /** Slots wanted: slot numbers 0..replicas-1. */
  readonly replicas: number;
  readonly spread: Spread;
  readonly constraints: readonly Constraint[];
  /** At most this many slots of the app on one node (undefined: no limit). */
  readonly maxPerNode?: number;
  /** Wait this long after a node is gone before its slots move (a short blip does not move anything). */
  readonly rescheduleDelayMs: number;
  /** The delay doubles for each reschedule of a slot that did not stay put, up to this. */
  readonly rescheduleMaxDelayMs: number;
  /** Each replica takes a port from the node's app port ranges (so the node's free ports must cover it). */
  readonly ports: boolean;
  /** Cores one replica asks for (0: none), summed per node against the node's cores. */
  readonly cpu: number;
  /** Bytes one replica asks for (0: none), summed per node against the node's memory. */
  readonly memoryBytes: number;
}

/** alive: its record is in etcd. suspect: the leader cannot tell (keeps its slots, places nothing new there).
 *  gone: its lease expired or it left (its slots move after the app's reschedule delay; at once for "left"). */
export type NodeState = "alive" | "suspect" | "gone";

export interface PlacementNode {
  readonly name: string;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly load1: number;
  /** Ports of its app ranges no replica holds (0 when it has none). */
  readonly freePorts: number;
  readonly state: NodeState;
  /** When the node entered its state (wall-clock ms). */
  readonly since: number;
  /** A graceful leave: its slots move at once. */
  readonly left?: boolean;
  /** Cluster apps this node's config defines (it cannot run the others); undefined: every app. */
  readonly apps?: readonly string[];
}

export interface Allocation {
  readonly app: string;
  readonly slot: number;
  readonly node: string;
  /** Bumped on every assignment of this slot (a new node, or back onto one). */
  readonly generation: number;
  /** Reschedules of this slot in a row without a stable run (the delay doubles with each). */
  readonly reschedules: number;
  /** Wall-clock ms of this assignment. */
  readonly placedAt: number;
}

export const slotId = (app: string, slot: number) => `${app}/${slot}`;

export const Why = {
  PLACED: "placed",
  NODE_GONE: "node-gone",
  NODE_LEFT: "node-left",
  CONSTRAINT_CHANGED: "constraint-changed",
  OVER_MAX_PER_NODE: "over-max-per-node",
  APP_NOT_ON_NODE: "app-not-on-node",
  SCALED_DOWN: "scaled-down",
  APP_REMOVED: "app-removed",
  REBALANCE: "rebalance",
} as const;
export type Why = (typeof Why)[keyof typeof Why];

export interface Change {
  readonly app: string;
  readonly slot: number;
  /** Absent for a new slot. */
  readonly from?: string;
  /** Absent for a slot removed (scale-down, app gone) or left unplaced. */
  readonly to?: string;
  readonly why: Why;
  readonly message: string;
}

export interface Unplaceable {
  readonly app: string;
  readonly slot: number;
  /** One line an operator can act on: how many nodes each filter ruled out. */
  readonly reason: string;
  /** Nodes ruled out by filter (Nomad's "constraint filtered", "exhausted"). */
  readonly filtered: Readonly<Record<string, number>>;
}

export interface Pending {
  readonly app: string;
  readonly slot: number;
  readonly node: string;
  /** Wall-clock ms at which the slot moves if its node is still gone. */
  readonly until: number;
}

export interface PlacementInput {
  readonly apps: readonly PlacementApp[];
  readonly nodes: readonly PlacementNode[];
  readonly allocations: readonly Allocation[];
  /** Apps to rebalance now (move slots towards an even spread; only on request). */
  readonly rebalance?: ReadonlySet<string>;
}

export interface PlacementResult {
  /** The whole desired set, slot order by app then slot. */
  readonly allocations: Allocation[];
  readonly changes: Change[];
  readonly unplaceable: Unplaceable[];
  /** Slots on a gone node waiting for their reschedule delay. */
  readonly pending: Pending[];
  /** The earliest time the result can change without new input (a pending delay ending). */
  readonly wakeAt?: number;
}
