// Turns what the supervisor observes (catalog changes, worker lifecycle) into events, and event severities into log levels.
import type { CatalogChange } from "../state/catalog.ts";
import type { EventInput, Severity } from "../state/event-bus.ts";
import type { WorkerInfo } from "./worker-host.ts";

/** The log level an event of this severity is written at. */
export function logLevelOf(severity: Severity | undefined): "debug" | "info" | "warn" | "error" {
  switch (severity) {
    case "critical":
    case "error":
      return "error";
    case "warning":
      return "warn";
    case "debug":
      return "debug";
    default:
      return "info";
  }
}

/** One event per catalog change; an endpoint turning critical is a warning, everything else is routine. */
export function catalogChangeEvent(c: CatalogChange): EventInput {
  const target = "endpoint" in c ? `${c.service.namespace}/${c.service.name}/${c.endpoint.id}` : `${c.service.namespace}/${c.service.name}`;
  return {
    type: c.kind,
    source: "catalog",
    target,
    severity: c.kind === "endpoint.health" && c.endpoint.health === "critical" ? "warning" : "debug",
    message: `${c.kind} ${target}${c.kind === "endpoint.health" ? `: ${c.from} -> ${c.endpoint.health}` : ""}`,
  };
}

/** A worker that died, or came back after dying; a first start and a stop are not events. */
export function workerStateEvent(info: WorkerInfo, why: string): EventInput | undefined {
  if (info.state === "restarting") {
    return { type: "worker.crashed", source: "supervisor", target: info.name, severity: "error", message: `worker ${info.name} ${why}`, data: { restarts: info.restarts } };
  }
  if (info.state === "running" && info.restarts > 0) {
    return { type: "worker.restarted", source: "supervisor", target: info.name, severity: "info", message: `worker ${info.name} is running again after ${info.restarts} restart(s)`, data: { restarts: info.restarts } };
  }
  return undefined;
}
