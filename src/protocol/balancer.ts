// Messages between the supervisor and the balancer workers (one per core, all serving every listener with SO_REUSEPORT).
import type { InitMessage } from "./common.ts";
import type { BalancerConfig } from "../config/schema.ts";
import type { StatsSnapshot } from "../balancer/proxy-stats.ts";

export type { StatsSnapshot };

/** One endpoint as the supervisor sees it; the worker adds live counts, ejection and slow start. */
export interface PoolMember {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly health: "passing" | "warning" | "critical";
  readonly draining: boolean;
}

export interface BalancerInit {
  readonly index: number;
  readonly balancers: readonly BalancerConfig[];
  readonly pools: Readonly<Record<string, readonly PoolMember[]>>;
}

/** Supervisor -> balancer worker, one-way. */
export type ToBalancer =
  | InitMessage<BalancerInit>
  | { readonly t: "balancer.pool"; readonly balancer: string; readonly members: readonly PoolMember[] };

/** Supervisor -> balancer worker requests and their replies. */
export type BalancerRequests = {
  /** In-flight requests/connections to one endpoint in this worker (for draining). */
  readonly "balancer.active": { readonly body: { readonly balancer: string; readonly endpoint: string }; readonly reply: number };
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
      /** Requests waiting for an endpoint to appear (scale from zero). */
      readonly held: number;
    }
  | { readonly t: "balancer.ejection"; readonly balancer: string; readonly endpoint: string; readonly action: "eject" | "uneject" | "skip"; readonly reason: string; readonly forMs: number; readonly timesEjected: number }
  | { readonly t: "balancer.listen-failed"; readonly balancer: string; readonly message: string };
