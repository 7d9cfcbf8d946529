// Connects the policy runner to what the supervisor knows and does: targets from the procs snapshot, health from the
// health link, traffic from the balancer windows, host load; actions through app control, the procs worker, the
// catalog, deployments, alerts and tasks (the same functions the API calls).
import { freemem, loadavg, totalmem } from "node:os";
import { replicaBounds } from "../config/apps.ts";
import type { Snapshot, TargetView } from "../core/policy/types.ts";
import type { AlertService } from "../alerts/service.ts";
import { openPolicyStore } from "../state/policy-store.ts";
import type { TaskService } from "../tasks/service.ts";
import { createPolicyRunner, type PolicyRunner } from "../policy/runner.ts";
import { createAppControl } from "./app-control.ts";
import type { BalancerLink } from "./balancer-link.ts";
import { mergeWindows } from "./balancer-stats.ts";
import type { DeployRunner } from "./deploy-runner.ts";
import type { HealthLink } from "./health-link.ts";
import { APP_NAMESPACE, endpointOf, type Hub, notRunning } from "./hub.ts";
import type { ProcsLink } from "./procs-link.ts";
import type { ScalerLink } from "./scaler-link.ts";
import { RATE_WINDOW_ROUNDS } from "./balancer-stats.ts";

export interface PolicyLinks {
  procs: ProcsLink;
  health: HealthLink;
  balancer: BalancerLink;
  scaler: ScalerLink;
  deploy: DeployRunner;
  alerts: AlertService;
  tasks: TaskService;
}

export function wirePolicies(hub: Hub, l: PolicyLinks, env: Record<string, string | undefined>): PolicyRunner {
  const procsReq: NonNullable<Hub["hosts"]["procs"]>["request"] = (msg, timeoutMs = 10_000) => hub.hosts.procs?.request(msg, timeoutMs) ?? notRunning("procs");
  const control = createAppControl(hub, l.procs, l.scaler, async (app, n) => {
    await procsReq({ t: "procs.scale", app, replicas: n }, 120_000);
  });
  const traffic = (ids: readonly string[]) => {
    const m = mergeWindows(l.balancer.windowsOf(ids));
    const failures = m.responses["5xx"] + m.errors;
    return {
      rps: m.requests / RATE_WINDOW_ROUNDS,
      error_ratio: m.requests > 0 ? failures / m.requests : 0,
      latency_p50: m.latency.p50Ms,
      latency_p95: m.latency.p95Ms,
      latency_p99: m.latency.p99Ms,
      inflight: m.active,
    };
  };
  const appOf = (name: string) => hub.config().apps.find((a) => a.name === name);
  const endpointId = (app: string, replica: number) => {
    const cfg = appOf(app);
    const ep = cfg ? endpointOf(cfg, replica) : undefined;
    if (!ep) throw new Error(`${app} has no endpoint per replica (port: none or shared)`);
    return ep.id;
  };

  const snapshot = async (): Promise<Snapshot> => {
    const now = Date.now();
    const apps = await procsReq({ t: "procs.snapshot" });
    const targets: TargetView[] = [];
    for (const a of apps) {
      const cfg = appOf(a.name);
      if (!cfg) continue;
      const inProgress = l.deploy.active(a.name) !== undefined;
      const ids: string[] = [];
      const healthOf: TargetView["healthOf"][number][] = [];
      let cpu = 0, memory = 0, restarts = 0, ready = 0, unhealthy = 0;
      for (const r of a.replicas) {
        const ep = endpointOf(cfg, r.id);
        const h = ep ? l.health.healthOf(ep).health : "passing";
        const isReady = r.state === "ready";
        if (ep && !ids.includes(ep.id)) ids.push(ep.id);
        const t = ep && !("shared" in cfg.port) ? traffic([ep.id]) : undefined;
        cpu += r.cpuPercent;
        memory += r.rssBytes;
        restarts += r.restarts;
        if (isReady) ready++;
        if (h === "critical") unhealthy++;
        healthOf.push(isReady ? h : "not_ready");
        targets.push({
          kind: "replica",
          id: `${a.name}-${r.id}`,
          key: `replica:${a.name}-${r.id}`,
          app: a.name,
          replica: r.id,
          labels: { app: a.name, replica: String(r.id), state: r.state },
          metrics: { cpu: r.cpuPercent, memory: r.rssBytes, restarts: r.restarts, ready: isReady ? 1 : 0, unhealthy: h === "critical" ? 1 : 0, replicas: a.desired, ...(t ?? {}) },
          health: isReady ? h : "not_ready",
          healthOf: [isReady ? h : "not_ready"],
          ageMs: r.startedAt !== null ? now - r.startedAt : 0,
          deploymentInProgress: inProgress,
        });
      }
      const distinct = [...new Set(healthOf)];
      targets.push({
        kind: "app",
        id: a.name,
        key: `app:${a.name}`,
        app: a.name,
        labels: { app: a.name },
        metrics: { cpu, memory, restarts, ready, unhealthy, replicas: a.desired, ...traffic(ids) },
        health: distinct.length === 1 ? distinct[0]! : distinct.length === 0 ? "unknown" : "mixed",
        healthOf: distinct,
        ageMs: 0,
        deploymentInProgress: inProgress,
      });
    }
    const total = totalmem();
    return { now, targets, host: { load1: loadavg()[0] ?? 0, host_memory: total > 0 ? 1 - freemem() / total : 0 } };
  };

  return createPolicyRunner({
    interval: () => hub.config().policies.interval,
    enabled: () => hub.config().policies.enabled,
    retention: () => hub.config().policies.audit_retention,
    tasks: () => hub.config().tasks.map((t) => t.name),
    snapshot,
    store: openPolicyStore(hub.store),
    publish: hub.publish,
    log: hub.log,
    env: (name) => env[name],
    effects: {
      scale: async (app, n, forMs) => void (await control.scale(app, n, forMs)),
      pauseScaling: async (app, forMs) => {
        const i = l.procs.intents.get(app);
        l.procs.intents.update(app, () => ({ ...i, pausedUntil: Date.now() + forMs }));
        hub.publish({ type: "scaling.paused", source: "policy", target: app, severity: "info", message: `${app}: autoscaling paused by a policy for ${Math.round(forMs / 1000)}s` });
      },
      resumeScaling: async (app) => {
        const r = await control.resume(app);
        if (typeof r === "string") throw new Error(`${app}: cannot resume autoscaling (${r})`);
      },
      restartReplica: async (app, id) => void (await procsReq({ t: "procs.restart-replica", app, replica: id }, 120_000)),
      restartApp: async (app) => void (await procsReq({ t: "procs.rolling-restart", app }, 30 * 60_000)),
      drain: (app, id) => l.balancer.drainCatalogEndpoint(APP_NAMESPACE, app, endpointId(app, id)),
      eject: async (app, id) => {
        hub.catalog.setEndpointOverride(APP_NAMESPACE, app, endpointId(app, id), { draining: true });
        l.balancer.changed();
      },
      setWeight: async (app, id, weight) => {
        hub.catalog.setEndpointOverride(APP_NAMESPACE, app, endpointId(app, id), { weight });
        l.balancer.changed();
      },
      rollback: async (app, revision) => {
        const r = l.deploy.rollback(app, { ...(revision !== undefined ? { revision } : {}), by: "policy" });
        if (!r.ok) throw new Error(r.error.message);
        return `rollout ${r.value.id} to revision ${r.value.to}`;
      },
      alert: (x) => l.alerts.raise({ name: x.name, severity: x.severity, labels: x.labels, annotations: { summary: x.summary }, source: "policy", ...(x.value !== undefined ? { value: x.value } : {}) }).alert.id,
      runTask: (name, params) => l.tasks.execute(name, params).id,
      deliver: (n) => l.alerts.deliver(n),
      bounds: (app) => {
        const cfg = appOf(app);
        return cfg ? replicaBounds(cfg, hub.cores) : undefined;
      },
    },
  });
}
