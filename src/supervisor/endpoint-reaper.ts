// Deregisters API-registered endpoints that stayed critical longer than discovery.deregister_critical_after
// (Consul's DeregisterCriticalServiceAfter). App and config endpoints are never reaped: their owners keep them.
//
//   stopped --start()--> sweeping every intervalMs --stop()--> stopped     (stop is idempotent)
import type { Catalog } from "../state/catalog.ts";
import type { EventInput } from "../state/event-bus.ts";

export interface ReaperDeps {
  readonly catalog: Pick<Catalog, "criticalSince" | "get" | "removeEndpoint">;
  publish(e: EventInput): void;
  /** The current bound, read at every sweep so a reload takes effect; undefined turns reaping off. */
  afterMs(): number | undefined;
  now?: () => number;
}

export interface CriticalReaper {
  /** One pass; returns the endpoints it removed as "namespace/service/id". */
  sweep(): string[];
  start(intervalMs: number): void;
  stop(): void;
}

export function createCriticalReaper(deps: ReaperDeps): CriticalReaper {
  const now = deps.now ?? Date.now;
  let timer: ReturnType<typeof setInterval> | undefined;
  const sweep = function sweepCritical(): string[] {
    const after = deps.afterMs();
    if (after === undefined) return [];
    const removed: string[] = [];
    for (const e of deps.catalog.criticalSince(now() - after)) {
      if (deps.catalog.get(e.namespace, e.name)?.source !== "api") continue;
      deps.catalog.removeEndpoint(e.namespace, e.name, e.id);
      const target = `${e.namespace}/${e.name}/${e.id}`;
      removed.push(target);
      deps.publish({ type: "endpoint.deregistered", source: "supervisor", target, severity: "warning", message: `deregistered ${e.id} of ${e.namespace}/${e.name}: critical for longer than ${after} ms` });
    }
    return removed;
  };
  return {
    sweep,
    start(intervalMs) {
      timer ??= setInterval(sweep, intervalMs);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
