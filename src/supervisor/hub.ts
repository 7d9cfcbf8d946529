// What the supervisor's links share: config, catalog, events, store, telemetry, logger and the worker hosts.
// Each link (procs, health, balancer, scaler) owns one worker's traffic and talks to the others through here.
import type { Config } from "../config/schema.ts";
import type { Catalog } from "../state/catalog.ts";
import type { EventBus, EventInput } from "../state/event-bus.ts";
import type { Store } from "../state/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Telemetry } from "../telemetry/metrics.ts";
import type { WorkerHost } from "./worker-host.ts";

export const APP_NAMESPACE = "default";

export interface Hub {
  config(): Config;
  readonly cores: number;
  readonly catalog: Catalog;
  readonly events: EventBus;
  publish(e: EventInput): void;
  readonly store: Store;
  readonly log: Logger;
  readonly telemetry: Telemetry;
  host(name: string): WorkerHost<unknown> | undefined;
  balancerHosts(): Array<WorkerHost<unknown>>;
  /** Stop routing new traffic to an endpoint and wait (bounded) until its in-flight requests finish. */
  drainEndpoint(namespace: string, service: string, endpointId: string): Promise<void>;
  /** Health checks need recomputing (replicas or config changed). */
  healthTargetsChanged(): void;
  /** Per-replica readiness changed: the scaler needs the new replica set. */
  replicasChanged(app: string): void;
}

/** The endpoint id of an app replica in the catalog. */
export const replicaEndpointId = (app: string, replica: number) => `${app}-${replica}`;
