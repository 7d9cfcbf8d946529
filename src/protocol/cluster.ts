// Messages between the supervisor and the cluster worker: the local endpoints it publishes to etcd, the remote
// endpoints and members it reports back, and its connection status. Record shapes come from the pure cluster core.
import type { ClusterEndpoint, Member, NodeRecord } from "../core/cluster/records.ts";
import type { AllocationRecord, AppStatusRecord } from "../core/placement/records.ts";
import type { Change, PlacementApp } from "../core/placement/types.ts";
import type { InitMessage } from "./common.ts";

export type { AllocationRecord, AppStatusRecord, ClusterEndpoint, Member, NodeRecord, PlacementApp };

/** Who leads placement, as this agent knows it. */
export interface LeaderView {
  readonly node?: string;
  readonly since?: number;
  /** The leader key's create revision: every allocation write is fenced on it. */
  readonly term?: string;
  readonly self: boolean;
  /** False while this agent has no etcd session (the view is the last known one). */
  readonly connected: boolean;
  /** Wall-clock ms of this agent's last leader pass (leader only). */
  readonly lastPass?: number;
}

export interface PlacementView {
  readonly leader: LeaderView;
  /** The leader's last status record per app, with this node's own config's spec where the leader wrote none. */
  readonly apps: readonly AppStatusRecord[];
  readonly allocations: readonly AllocationRecord[];
}

/** The etcd connection and this node, as the cluster worker runs them (mapped from config in src/config/cluster.ts). */
export interface ClusterSpec {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly dialTimeoutMs: number;
  readonly username?: string;
  /** The password's file, read by the worker at start (the secret itself never crosses a thread or reaches a log). */
  readonly passwordFile?: string;
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  readonly leaseTtlSeconds: number;
  readonly node: { readonly name: string; readonly zone: string; readonly advertise: string; readonly labels?: Readonly<Record<string, string>> };
  readonly version: string;
}

export interface ClusterInit {
  readonly spec: ClusterSpec;
  /** Every endpoint this node owns now (apps, static services, API registrations). */
  readonly local: readonly ClusterEndpoint[];
  /** Free ports in this node's app port ranges (published in the node record). */
  readonly freePorts: number;
  /** This config's cluster apps (placement.scope cluster): what the leader places when this node leads. */
  readonly placement: readonly PlacementApp[];
}

/** The cluster-wide config document: shared sections only (src/cluster/shared-config.ts says which). */
export interface SharedDocument {
  readonly apps?: ReadonlyArray<Record<string, unknown>>;
  readonly alerts?: { readonly receivers?: ReadonlyArray<Record<string, unknown>> };
}
/** What etcd holds at <prefix>/config/shared: the document, which node wrote it and when (ms since the epoch). */
export interface SharedRecord {
  readonly document: SharedDocument;
  readonly updatedAt: number;
  readonly node: string;
}

/** What the worker knows about its link to etcd. */
export interface ClusterStatus {
  readonly node: string;
  readonly connected: boolean;
  /** True while the remote catalog is the last known one (etcd unreachable, or not yet synced). */
  readonly stale: boolean;
  readonly staleSince?: number;
  readonly lastError?: string;
  readonly endpoint?: string;
  readonly leaderId?: string;
  readonly memberId?: string;
  readonly clusterId?: string;
  readonly etcdVersion?: string;
  /** The last revision this agent has applied. */
  readonly revision: string;
  /** The store's revision at the last status round-trip. */
  readonly etcdRevision?: string;
  /** Wall-clock ms of the last full resync. */
  readonly lastResync?: number;
  readonly resyncs: number;
  readonly leaseId?: string;
  readonly registrations: number;
  /** Milliseconds from an event's put to this agent applying it, last seen (our own writes, so clocks agree). */
  readonly watchLagMs?: number;
  readonly rttMs?: number;
  readonly remoteEndpoints: number;
  /** Members this agent knows, by status. */
  readonly members: Readonly<Record<"alive" | "suspect" | "left" | "failed", number>>;
}

/** Supervisor -> cluster, one-way. */
export type ToCluster =
  | InitMessage<ClusterInit>
  /** The whole local set again after any change; the worker writes only what differs. */
  | { readonly t: "cluster.local"; readonly endpoints: readonly ClusterEndpoint[]; readonly freePorts: number }
  /** The config's cluster apps after a reload. */
  | { readonly t: "cluster.placement"; readonly apps: readonly PlacementApp[] };

/** Supervisor -> cluster requests and their replies. */
export type ClusterRequests = {
  readonly "cluster.members": { readonly body: object; readonly reply: Member[] };
  readonly "cluster.status": { readonly body: object; readonly reply: ClusterStatus };
  /** A takeover: stop talking to etcd without leaving (the successor registers the same node); replies once stopped. */
  readonly "cluster.release": { readonly body: object; readonly reply: { readonly released: boolean } };
  readonly "cluster.placement": { readonly body: object; readonly reply: PlacementView };
  /** Even out one app's slots: done at once on the leader (its moves), else asked of the leader through etcd. */
  readonly "cluster.rebalance": { readonly body: { readonly app: string }; readonly reply: { readonly app: string; readonly leader?: string; readonly done: boolean; readonly moves: readonly Change[] } };
  /** Writes the cluster-wide config record (already validated by the supervisor); replies with the etcd revision. */
  readonly "cluster.config.put": { readonly body: { readonly record: SharedRecord }; readonly reply: { readonly revision: string } };
};

/** Cluster -> supervisor. */
export type FromCluster =
  /** Remote endpoints that appeared or changed, and the keys of those gone; `full` replaces everything known. */
  | { readonly t: "cluster.remote"; readonly full: boolean; readonly upserts: readonly ClusterEndpoint[]; readonly removed: readonly string[] }
  | { readonly t: "cluster.status"; readonly status: ClusterStatus }
  /**
   * The slots etcd assigns this node, per cluster app, as of a lease renewal sent at `renewedAt` (wall-clock ms):
   * the lease lives at least TTL from then, so the supervisor may run them until renewedAt + TTL - margin.
   */
  | { readonly t: "cluster.slots"; readonly slots: Readonly<Record<string, readonly number[]>>; readonly renewedAt: number }
  /** The cluster-wide config as etcd holds it now (null: none), at its modification revision; sent on every change and after a resync. */
  | { readonly t: "cluster.config"; readonly record: SharedRecord | null; readonly revision: string }
  | { readonly t: "cluster.event"; readonly type: string; readonly severity: "info" | "warning" | "critical"; readonly message: string; readonly data?: Record<string, unknown> };
