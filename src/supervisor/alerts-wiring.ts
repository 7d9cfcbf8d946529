// Connects the alert service to what the supervisor knows: check states (health link), scaler decisions, balancer
// views, TLS listener files, the data dir, the event bus; counts notifications in telemetry.
import { type AlertService, createAlertService } from "../alerts/service.ts";
import type { ReceiverConfig } from "../config/alerts-schema.ts";
import { createSources } from "../alerts/sources.ts";
import { replicaBounds } from "../config/apps.ts";
import type { BalancerLink } from "./balancer-link.ts";
import type { HealthLink } from "./health-link.ts";
import type { Hub } from "./hub.ts";
import type { ScalerLink } from "./scaler-link.ts";

export function wireAlerts(hub: Hub, links: { health: HealthLink; scaler: ScalerLink; balancer: BalancerLink }, apiUrl: () => string, extraReceiver?: (name: string) => ReceiverConfig | undefined): AlertService & { close(): void } {
  const { health, scaler, balancer } = links;
  const src = createSources({
    *checks() {
      // One item reused for every check: an evaluation over thousands of checks allocates nothing per check.
      const item: { id: string; status: "passing" | "warning" | "critical" | null; since: number | undefined; output: string | undefined; app: string | undefined } = { id: "", status: null, since: undefined, output: undefined, app: undefined };
      for (const [id, meta] of health.checks()) {
        const st = health.statusOf(id);
        item.id = id;
        item.status = st?.status ?? null;
        item.since = st?.since;
        item.output = st?.output;
        item.app = meta.app;
        yield item;
      }
    },
    *scaling() {
      for (const a of hub.config().apps) {
        if (typeof a.replicas !== "object") continue;
        const d = scaler.latest(a.name);
        if (!d) continue;
        yield { app: a.name, current: d.current, max: replicaBounds(a, hub.cores).max, wanted: d.recommendation ?? d.reactive };
      }
    },
    *balancers() {
      for (const v of balancer.views()) yield { name: v.name, panic: v.panic, endpoints: v.endpoints.length, healthy: v.endpoints.filter((e) => e.health === "passing" && !e.ejected).length };
    },
    *certificates() {
      const c = hub.config();
      for (const b of c.balancers) if (b.tls) yield { listener: `balancer ${b.name}`, file: b.tls.cert_file };
      if (c.api.tls) yield { listener: "admin API", file: c.api.tls.cert_file };
    },
    dataDir: () => hub.config().agent.data_dir,
    subscribe: (fn) => hub.events.subscribe(fn),
  });
  const service = createAlertService({
    config: () => hub.config().alerts,
    store: hub.store,
    publish: hub.publish,
    log: hub.log,
    apiUrl,
    sources: src.sources,
    counted: (r, o) => hub.telemetry.alertNotification(r, o),
    ...(extraReceiver ? { extraReceiver } : {}),
  });
  hub.telemetry.observeAlerts(() => {
    const counts = new Map<string, { state: string; severity: string; count: number }>();
    for (const a of service.state.byId.values()) {
      const state = a.lifecycle === "resolved" ? "resolved" : a.silencedBy.length > 0 ? "silenced" : a.lifecycle;
      const k = `${state}|${a.severity}`;
      const c = counts.get(k);
      if (c) c.count++;
      else counts.set(k, { state, severity: a.severity, count: 1 });
    }
    return [...counts.values()];
  });
  return Object.assign(service, { close: src.close });
}
