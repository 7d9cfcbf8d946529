// What the supervisor shares with the API wiring: config, catalog, events, store, telemetry, logger and the worker
// hosts, each typed by its protocol. Each link (procs, health, balancer, scaler) declares its own narrower
// dependencies beside it.
import type { AppConfig, Config } from "../config/schema.ts";
import type { BalancerRequests, FromBalancer, ToBalancer } from "../protocol/balancer.ts";
import type { FromHealth, HealthRequests, ToHealth } from "../protocol/health.ts";
import type { FromProcs, ProcsRequests, ToProcs } from "../protocol/procs.ts";
import type { FromScaler, ScalerRequests, ToScaler } from "../protocol/scaler.ts";
import type { ClusterRequests, FromCluster, ToCluster } from "../protocol/cluster.ts";
import type { Catalog } from "../state/catalog.ts";
import type { EventBus, EventInput } from "../state/event-bus.ts";
import type { Store } from "../state/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Telemetry } from "../telemetry/metrics.ts";
import { RequestError } from "../protocol/port.ts";
import type { WorkerControl, WorkerHost } from "./worker-host.ts";

export const APP_NAMESPACE = "default";

export type ProcsHost = WorkerHost<ToProcs, FromProcs, ProcsRequests>;
export type HealthHost = WorkerHost<ToHealth, FromHealth, HealthRequests>;
export type ScalerHost = WorkerHost<ToScaler, FromScaler, ScalerRequests>;
export type BalancerHost = WorkerHost<ToBalancer, FromBalancer, BalancerRequests>;
export type ClusterHost = WorkerHost<ToCluster, FromCluster, ClusterRequests>;

/** The running worker hosts, filled in at start. */
export interface WorkerHosts {
  procs?: ProcsHost;
  health?: HealthHost;
  scaler?: ScalerHost;
  readonly balancers: BalancerHost[];
  /** Only with a `cluster:` section. */
  cluster?: ClusterHost;
}

/** Every host, in start order (procs, health, balancers, scaler, cluster). */
export function allHosts(h: WorkerHosts): WorkerControl[] {
  return [...(h.procs ? [h.procs] : []), ...(h.health ? [h.health] : []), ...h.balancers, ...(h.scaler ? [h.scaler] : []), ...(h.cluster ? [h.cluster] : [])];
}

/** A request to a worker that is not there fails as a request to a stopped worker does. */
export function notRunning(kind: string): Promise<never> {
  return Promise.reject(new RequestError("unavailable", `${kind} worker is not running`));
}

export interface Hub {
  config(): Config;
  readonly cores: number;
  readonly catalog: Catalog;
  readonly events: EventBus;
  publish(e: EventInput): void;
  readonly store: Store;
  readonly log: Logger;
  readonly telemetry: Telemetry;
  readonly hosts: WorkerHosts;
}

/** Where a catalog endpoint lives. */
export interface EndpointRef {
  readonly namespace: string;
  readonly service: string;
  readonly id: string;
}

/**
 * The catalog endpoint of an app replica (the one rule, used by every link): one per replica, one for all the
 * replicas sharing a port (the kernel spreads connections among them), none for an app without a port.
 */
export function endpointOf(app: Pick<AppConfig, "name" | "port">, replica: number): EndpointRef | undefined {
  if ("none" in app.port) return undefined;
  return { namespace: APP_NAMESPACE, service: app.name, id: "shared" in app.port ? `${app.name}-shared` : replicaEndpointId(app.name, replica) };
}

/** The endpoint of a replica with its own port (endpointOf's rule, for a replica whose app left the config). */
export const replicaEndpointId = (app: string, replica: number) => `${app}-${replica}`;
