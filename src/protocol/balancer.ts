// Messages between the supervisor and the balancer workers (one per core, all serving every listener with
// SO_REUSEPORT), and the specs and stats they carry. This file is the one list of what crosses the thread boundary:
// the config is mapped onto BalancerSpec in src/config/balancers.ts, so renaming a config key leaves the wire alone.
import type { Algorithm } from "../core/balancing/index.ts";
import type { InitMessage } from "./common.ts";

/** Counters of one listener or one endpoint over the last second, as the balancer worker reports them. */
export interface StatsSnapshot {
  requests: number;
  /** Responses by class: index 1 = 1xx ... 5 = 5xx (index 0 unused). */
  responses: [number, number, number, number, number, number];
  errors: number;
  retries: number;
  bytesIn: number;
  bytesOut: number;
  /** Gauge: open connections (client side for listeners, upstream side for endpoints). */
  active: number;
  latency: { count: number; meanMs: number; p50Ms: number; p95Ms: number; p99Ms: number };
  /** Non-empty buckets of the fine histogram as [bucket, count, bucket, count, ...], so workers' stats merge exactly. */
  buckets: number[];
  /** Sum of latencies in µs (with buckets: the mean after merging). */
  sumUs: number;
}

/**
 * One balancer as a worker runs it: every default resolved, durations in milliseconds. The keys follow the config's
 * for readability, but this is its own shape: where the endpoints come from (backends) stays with the supervisor.
 */
export interface BalancerSpec {
  readonly name: string;
  /** host:port */
  readonly listen: string;
  readonly protocol: "http" | "tcp" | "udp";
  readonly algorithm: Algorithm;
  readonly hash_key: { readonly source: "ip" | "header" | "cookie" | "path"; readonly name?: string };
  /** Bounded loads for consistent_hash and maglev (absent: unbounded). */
  readonly hash_balance_factor?: number;
  readonly ring_hash: { readonly points_per_weight: number; readonly max_points: number };
  readonly maglev: { readonly table_size: number };
  readonly timeouts: { readonly connect: number; readonly request: number; readonly idle: number; readonly header: number };
  readonly retries: { readonly max: number; readonly budget_percent: number; readonly min_per_second: number };
  readonly outlier: {
    readonly enabled: boolean;
    readonly consecutive_5xx: number;
    readonly consecutive_gateway_failure: number;
    readonly base_ejection_time: number;
    readonly max_ejection_time: number;
    readonly max_ejection_percent: number;
  };
  readonly slow_start: { readonly window: number; readonly min_weight_percent: number; readonly aggression: number };
  readonly max_connections_per_endpoint?: number;
  readonly sticky?: { readonly cookie: string; readonly ttl?: number };
  readonly drain_timeout: number;
  /** With no endpoint at all, hold requests this long for one to appear (0: answer 503 at once). */
  readonly hold_when_empty: number;
  readonly panic_threshold: number;
  readonly warning_weight: number;
  readonly udp_idle_timeout: number;
  readonly tls?: { readonly cert_file: string; readonly key_file: string };
  readonly upstream_tls?: { readonly verify: boolean; readonly ca_file?: string; readonly servername?: string };
  readonly upstream_protocol: "http1" | "h2c" | "h2";
  /** HTTP/2 on the listener (absent: off). */
  readonly http2?: { readonly max_concurrent_streams: number; readonly upstream_max_streams: number };
}

/** One endpoint as the supervisor sees it; the worker adds live counts, ejection and slow start. */
export interface PoolMember {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly health: "passing" | "warning" | "critical";
  readonly draining: boolean;
  /** From `backends.backup`: takes traffic only while no primary member is eligible, or while the pool is failed over. */
  readonly backup?: boolean;
  /** The app revision the endpoint runs; set on the split's side while a rollout splits the traffic. */
  readonly revision?: number;
}

/**
 * A rollout's traffic split over one balancer's pool: the endpoints running `revision` take `percent` of the picks,
 * the others the rest; the balancer's algorithm picks inside each side (core/balancing/split.ts).
 */
export interface PoolSplit {
  readonly revision: number;
  readonly percent: number;
}

export interface BalancerInit {
  readonly index: number;
  readonly balancers: readonly BalancerSpec[];
  readonly pools: Readonly<Record<string, readonly PoolMember[]>>;
  /** Balancers failed over to their backup members (the recovery ladder's failover rung). */
  readonly failover?: readonly string[];
  /** The balancers whose pools are split now (absent: none). */
  readonly splits?: Readonly<Record<string, PoolSplit>>;
}

/** Supervisor -> balancer worker, one-way. */
export type ToBalancer =
  | InitMessage<BalancerInit>
  /** A pool with its failover flag and split (absent: the whole pool is one side), always together so a worker never mixes them. */
  | { readonly t: "balancer.pool"; readonly balancer: string; readonly members: readonly PoolMember[]; readonly failover?: boolean; readonly split?: PoolSplit };

/** Supervisor -> balancer worker requests and their replies. */
/** How much longer than drain_timeout a drain's answer may take to arrive (a busy worker, the message hop). */
export const DRAIN_REPLY_MARGIN_MS = 5000;

export type BalancerRequests = {
  /**
   * Answered once this worker has nothing in flight to the endpoint, or when the balancer's drain_timeout passes
   * (with what is still in flight). Sent after the pool that marks the endpoint draining, so nothing new arrives.
   */
  readonly "balancer.drain": { readonly body: { readonly balancer: string; readonly endpoint: string }; readonly reply: { readonly inFlight: number } };
  /** Re-reads a balancer's certificate files; new connections get the new certificate. */
  readonly "balancer.reload-tls": { readonly body: { readonly balancer: string }; readonly reply: { readonly reloaded: string } };
};

export interface EndpointStats extends StatsSnapshot {
  readonly ejections: number;
  /** Milliseconds of ejection left (0: not ejected); relative, since threads do not share a monotonic origin. */
  readonly ejectedForMs: number;
}

/** Balancer worker -> supervisor, once a second per balancer. */
export type FromBalancer =
  | {
      readonly t: "balancer.stats";
      readonly worker: number;
      readonly balancer: string;
      readonly listener: StatsSnapshot;
      readonly endpoints: Readonly<Record<string, EndpointStats>>;
      readonly panic: boolean;
      /** The pool serves from its backup members. */
      readonly onBackup?: boolean;
      /** Requests waiting for an endpoint to appear (scale from zero). */
      readonly held: number;
    }
  | { readonly t: "balancer.ejection"; readonly balancer: string; readonly endpoint: string; readonly action: "eject" | "uneject" | "skip"; readonly reason: string; readonly forMs: number; readonly timesEjected: number }
  /** A listener could not bind: where, the errno code, and when the worker tries again. */
  | { readonly t: "balancer.listen-failed"; readonly worker: number; readonly balancer: string; readonly address: string; readonly code: string; readonly message: string; readonly attempt: number; readonly retryInMs: number }
  /** A listener is bound (sent on every successful bind, so a retry that succeeds clears the failure). */
  | { readonly t: "balancer.listening"; readonly worker: number; readonly balancer: string; readonly address: string };

/** The BroadcastChannel on which the balancer workers of one agent tell each other their connection counts. */
export const BALANCER_PEERS_CHANNEL = "polis.balancer.peers";

/**
 * Balancer worker -> the other balancer workers, a few times a second: open client connections per HTTP listener,
 * so a worker holding more than its share of a listener's connections can close some (core/balancing/conn-balance).
 * Worker to worker, not through the supervisor: the counts are data-plane state nobody else needs, and a round trip
 * through the hub would only make them older.
 */
export interface BalancerPeerReport {
  readonly t: "balancer.connections";
  readonly worker: number;
  readonly counts: Readonly<Record<string, number>>;
}
