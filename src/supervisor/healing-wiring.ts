// Connects the self-healing runner to the supervisor: replica verdict inputs from the procs snapshot, the health link
// (checks + phi) and the balancers' ejections; ladder actions through the procs worker (restart, replace), app
// control (scale within the app's bounds, holding the autoscaler off), the balancer link (failover to backups) and
// the alert service. State in the sqlite store (src/state/healing-store.ts).
import { replicaBounds } from "../config/apps.ts";
import { createReadySince } from "../core/healing/ready-since.ts";
import type { AlertService } from "../alerts/service.ts";
import { createHealingRunner, type HealingRunner, type HealingTarget } from "../healing/runner.ts";
import { openHealingStore } from "../state/healing-store.ts";
import { createAppControl } from "./app-control.ts";
import type { BalancerLink } from "./balancer-link.ts";
import type { HealthLink } from "./health-link.ts";
import { endpointOf, type Hub, notRunning } from "./hub.ts";
import type { ProcsLink } from "./procs-link.ts";
import type { ScalerLink } from "./scaler-link.ts";

export interface HealingLinks {
  procs: ProcsLink;
  health: HealthLink;
  balancer: BalancerLink;
  scaler: ScalerLink;
  alerts: AlertService;
}

/** A replace waits for the fresh replica's readiness; this bounds the request beyond the longest readiness timeout. */
const REPLACE_TIMEOUT_MS = 10 * 60_000;

export function wireHealing(hub: Hub, l: HealingLinks): HealingRunner {
  const procsReq: NonNullable<Hub["hosts"]["procs"]>["request"] = (msg, timeoutMs = 10_000) => hub.hosts.procs?.request(msg, timeoutMs) ?? notRunning("procs");
  const control = createAppControl(hub, l.procs, l.scaler, async (app, n) => {
    await procsReq({ t: "procs.scale", app, replicas: n }, 120_000);
  });
  const appOf = (name: string) => hub.config().apps.find((a) => a.name === name);
  /** How long a scale out holds the autoscaler off: the longest an episode can take to recover or climb on. */
  const holdMs = () => hub.config().healing.recover_after + hub.config().healing.max_backoff;

  const readySince = createReadySince(Date.now);

  const targets = async (): Promise<HealingTarget[]> => {
    const out: HealingTarget[] = [];
    const live = new Set<string>();
    for (const a of await procsReq({ t: "procs.snapshot" })) {
      const cfg = appOf(a.name);
      // One ladder per replica endpoint: replicas sharing a port (or with none) have no endpoint of their own to judge.
      if (!cfg || !("range" in cfg.port)) continue;
      for (const r of a.replicas) {
        const ep = endpointOf(cfg, r.id);
        if (!ep) continue;
        const h = l.health.healthOf(ep).health;
        live.add(`${a.name}/${r.id}`);
        const since = readySince.of(a.name, r);
        out.push({ app: a.name, replica: r.id, state: r.state, ejected: since !== Number.POSITIVE_INFINITY && l.balancer.isEjected(ep.id, since), ...(h !== undefined ? { health: h } : {}) });
      }
    }
    readySince.retain(live);
    return out;
  };

  const runner: HealingRunner = createHealingRunner({
    config: () => hub.config().healing,
    targets,
    store: openHealingStore(hub.store),
    publish: hub.publish,
    log: hub.log,
    effects: {
      restart: async (app, replica) => {
        await procsReq({ t: "procs.restart-replica", app, replica }, 120_000);
        return { outcome: "done", detail: `replica ${app}-${replica} restarted in its slot` };
      },
      replace: async (app, replica) => {
        const r = await procsReq({ t: "procs.replace", app, replica }, REPLACE_TIMEOUT_MS);
        if (!r.ok) throw new Error(r.reason);
        return { replica: r.replica, detail: `${app}-${replica} replaced by ${app}-${r.replica}${r.port !== null ? ` on port ${r.port}` : ""}` };
      },
      scaleOut: async (app) => {
        const cfg = appOf(app);
        if (!cfg) return { outcome: "skipped", detail: `${app} is no longer configured` };
        const b = replicaBounds(cfg, hub.cores);
        const cur = l.procs.desiredOf(app) ?? b.initial;
        if (cur + 1 > b.max) return { outcome: "skipped", detail: `${app} is at its maximum of ${b.max} replica(s) (replicas.max)` };
        await control.scale(app, cur + 1, holdMs());
        return { outcome: "done", from: cur, detail: `${app}: ${cur} -> ${cur + 1} replicas while the replica is unhealthy` };
      },
      scaleIn: async (app, from) => {
        const cur = l.procs.desiredOf(app);
        if (cur === undefined || cur <= from) return `${app} is already at ${cur ?? from} replicas`;
        await control.scale(app, cur - 1, holdMs());
        return `${app}: ${cur} -> ${cur - 1} replicas (the extra capacity is no longer needed)`;
      },
      failover: (app, already) => {
        const names = l.balancer.frontingApp(app).filter((b) => b.backends.backup).map((b) => b.name).filter((n) => !already.includes(n));
        if (names.length === 0 && already.length === 0) return { outcome: "skipped", detail: `no balancer in front of ${app} has backends.backup` };
        const balancers = [...already, ...names];
        // The pools derive their failover flag from the runner's records, updated by the caller before this push.
        queueMicrotask(() => l.balancer.changed());
        for (const b of names) hub.publish({ type: "balancer.failed_over", source: "healing", target: b, severity: "warning", message: `${b}: traffic moved to the backup endpoints (${app} is unhealthy after restart and replace)`, data: { balancer: b, app } });
        return { outcome: "done", detail: `${balancers.join(", ")} now serve from their backup endpoints`, balancers };
      },
      failback: (balancers) => {
        l.balancer.changed();
        for (const b of balancers) hub.publish({ type: "balancer.failed_back", source: "healing", target: b, severity: "info", message: `${b}: traffic back on the primary endpoints`, data: { balancer: b } });
      },
      alert: (x) => l.alerts.raise({ name: "healing_exhausted", severity: x.severity, labels: { target: x.target, app: x.app }, annotations: { summary: x.summary }, source: "healing" }).alert.id,
      resolveAlert: (id) => void l.alerts.resolve(id, "healing", "the target recovered"),
    },
  });
  return runner;
}
