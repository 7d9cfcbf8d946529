// Messages between the supervisor and the cluster worker: the local endpoints it publishes to etcd, the remote
// endpoints and members it reports back, and its connection status. Record shapes come from the pure cluster core.
import type { ClusterEndpoint, Member, NodeRecord } from "../core/cluster/records.ts";
import type { InitMessage } from "./common.ts";

export type { ClusterEndpoint, Member, NodeRecord };

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
  | { readonly t: "cluster.local"; readonly endpoints: readonly ClusterEndpoint[]; readonly freePorts: number };

/** Supervisor -> cluster requests and their replies. */
export type ClusterRequests = {
  readonly "cluster.members": { readonly body: object; readonly reply: Member[] };
  readonly "cluster.status": { readonly body: object; readonly reply: ClusterStatus };
  /** A takeover: stop talking to etcd without leaving (the successor registers the same node); replies once stopped. */
  readonly "cluster.release": { readonly body: object; readonly reply: { readonly released: boolean } };
};

/** Cluster -> supervisor. */
export type FromCluster =
  /** Remote endpoints that appeared or changed, and the keys of those gone; `full` replaces everything known. */
  | { readonly t: "cluster.remote"; readonly full: boolean; readonly upserts: readonly ClusterEndpoint[]; readonly removed: readonly string[] }
  | { readonly t: "cluster.status"; readonly status: ClusterStatus }
  | { readonly t: "cluster.event"; readonly type: string; readonly severity: "info" | "warning" | "critical"; readonly message: string; readonly data?: Record<string, unknown> };
