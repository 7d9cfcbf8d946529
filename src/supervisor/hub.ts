// What the supervisor shares with the API wiring: config, catalog, events, store, telemetry, logger and the worker
// hosts. Each link (procs, health, balancer, scaler) declares its own narrower dependencies beside it.
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
}

/** The endpoint id of an app replica in the catalog. */
export const replicaEndpointId = (app: string, replica: number) => `${app}-${replica}`;
