// Builds the admin API from the supervisor's links: every resource module with its dependencies.
import { policyRoutes } from "../api/policies.ts";
import { healingRoutes } from "../api/healing.ts";
import type { HealingRunner } from "../healing/runner.ts";
import type { PolicyRunner } from "../policy/runner.ts";
import type { PolicySetResult } from "../policy/loader.ts";
import { hostDrivers } from "../procs/cgroups/host-report.ts";
import { hostname } from "node:os";
import si from "systeminformation";
import { agentRoutes } from "../api/agent.ts";
import { alertRoutes, silenceRoutes } from "../api/alerts.ts";
import type { AlertService } from "../alerts/service.ts";
import { taskRoutes } from "../api/tasks.ts";
import type { TaskService } from "../tasks/service.ts";
import { type ApiModule } from "../api/app.ts";
import { appRoutes } from "../api/apps.ts";
import type { TicketStore } from "../api/auth.ts";
import { balancerRoutes } from "../api/balancers.ts";
import { type ClusterRouteDeps, clusterRoutes } from "../api/cluster.ts";
import { clusterPlacementRoutes } from "../api/cluster-placement.ts";
import { isClusterApp } from "../config/placement.ts";
import { type CheckView, checkRoutes, healthSummaryRoutes } from "../api/checks.ts";
import { type ApplyResult, type ConfigRouteDeps, configRoutes, reloadRoutes } from "../api/config.ts";
import { eventRoutes } from "../api/events.ts";
import { deploymentRoutes } from "../api/deployments.ts";
import { prepareSpec } from "./deploy-spec.ts";
import { metricRoutes, scalingRoutes } from "../api/scaling.ts";
import { serviceRoutes } from "../api/services.ts";
import { replicaBounds } from "../config/apps.ts";
import type { Config, StandaloneCheckConfig } from "../config/schema.ts";
import type { ScalePolicy, SimulationPoint } from "../protocol/scaler.ts";
import { VERSION } from "../version.ts";
import { createAppControl } from "./app-control.ts";
import type { BalancerLink } from "./balancer-link.ts";
import type { HealthLink } from "./health-link.ts";
import { type Hub, notRunning } from "./hub.ts";
import type { ProcsLink } from "./procs-link.ts";
import type { DeployRunner } from "./deploy-runner.ts";
import type { ScalerLink } from "./scaler-link.ts";
import type { WorkerControl } from "./worker-host.ts";

export interface ApiWiring {
  hub: Hub;
  procs: ProcsLink;
  health: HealthLink;
  balancer: BalancerLink;
  scaler: ScalerLink;
  tickets: TicketStore;
  hosts: () => WorkerControl[];
  startedAt: number;
  configPath: string | undefined;
  current: ConfigRouteDeps["current"];
  patch: ConfigRouteDeps["patch"];
  dropOverlay: ConfigRouteDeps["dropOverlay"];
  /** With a cluster: the cluster-wide config (GET/PUT /v1/cluster/config). */
  sharedConfig?: ClusterRouteDeps["sharedConfig"];
  /** SIGHUP's reload of the config file. */
  reload: () => Promise<ApplyResult>;
  apiChecks: Map<string, StandaloneCheckConfig>;
  persistApiChecks: () => void;
  alerts: AlertService;
  deploy: DeployRunner;
  tasks: TaskService;
  policies: PolicyRunner;
  healing: HealingRunner;
  validatePolicyFiles(): PolicySetResult;
}

async function systemView() {
  const [load, mem, disks, net, os] = await Promise.all([si.currentLoad(), si.mem(), si.fsSize().catch(() => []), si.networkStats().catch(() => []), si.osInfo()]);
  return {
    hostname: hostname(),
    os: { platform: os.platform, distro: os.distro, release: os.release, kernel: os.kernel, arch: os.arch },
    cpu: { cores: load.cpus.length, loadPercent: load.currentLoad, perCore: load.cpus.map((c) => c.load) },
    loadAverage: (await import("node:os")).loadavg(),
    memory: { total: mem.total, used: mem.active, available: mem.available, swapTotal: mem.swaptotal, swapUsed: mem.swapused },
    disks: disks.map((d) => ({ mount: d.mount, fs: d.fs, size: d.size, used: d.used, usePercent: d.use })),
    network: net.map((n) => ({ iface: n.iface, rxBytes: n.rx_bytes, txBytes: n.tx_bytes, rxPerSec: n.rx_sec, txPerSec: n.tx_sec })),
  };
}

export function buildApiModules(w: ApiWiring): ApiModule[] {
  const { hub, procs, health, balancer, scaler } = w;
  const { hosts } = hub;
  const procsReq: NonNullable<typeof hosts.procs>["request"] = (msg, timeoutMs = 10_000) => hosts.procs?.request(msg, timeoutMs) ?? notRunning("procs");
  const bounds = (app: string) => {
    const a = hub.config().apps.find((x) => x.name === app);
    return a ? replicaBounds(a, hub.cores) : undefined;
  };

  const checkList = (): CheckView[] => {
    const states = new Map(health.summaries().map((s) => [s.checkId, s]));
    const out: CheckView[] = [];
    for (const [id, meta] of health.checks()) {
      const st = health.statusOf(id);
      const sum = states.get(id);
      out.push({
        id,
        kind: meta.spec.kind,
        target: meta.spec.target,
        source: meta.app ? "app" : w.apiChecks.has(id) ? "api" : "config",
        ...(meta.app ? { app: meta.app } : {}),
        status: st?.status ?? null,
        flapping: st?.flapping ?? false,
        ...(st ? { output: st.output, since: st.since } : {}),
        ...(sum?.phi !== undefined ? { phi: sum.phi } : {}),
        ...(sum ? { summary: sum.summary } : {}),
      });
    }
    return out;
  };

  const scalingApps = () =>
    hub.config().apps.map((a) => {
      const b = replicaBounds(a, hub.cores);
      return { app: a.name, min: b.min, max: b.max, current: procs.desiredOf(a.name) ?? b.initial, policy: scaler.policyOf(a.name), scalable: typeof a.replicas === "object" };
    });

  const pushMetric = (app: string, name: string, value: number, replica?: string) =>
    scaler.ingest([{ app, ...(replica ? { replica } : {}), metric: name, value, at: Date.now() }]);

  return [
    {
      path: "/agent",
      app: agentRoutes({
        view: () => ({ name: hub.config().agent.name ?? hostname(), version: VERSION, pid: process.pid, startedAt: w.startedAt, configPath: w.configPath, workers: w.hosts().map((h) => h.info()), drivers: hostDrivers() }),
        ...(hub.config().agent.allow_fault_injection
          ? {
              crashWorker: (name: string) => {
                const h = w.hosts().find((x) => x.name === name);
                if (!h) return false;
                h.send({ t: "crash", reason: "requested through the API" });
                return true;
              },
            }
          : {}),
        recentLogs: (n) => hub.log.tail(n),
        system: systemView,
      }),
    },
    {
      path: "/apps",
      app: appRoutes({
        snapshot: () => procsReq({ t: "procs.snapshot" }),
        bounds,
        control: createAppControl(hub, procs, scaler, async (app, n) => {
          await procsReq({ t: "procs.scale", app, replicas: n }, 120_000);
        }),
        rollingRestart: (app) => procsReq({ t: "procs.rolling-restart", app }, 30 * 60_000),
        restartReplica: async (app, id) => void (await procsReq({ t: "procs.restart-replica", app, replica: id }, 120_000)),
        reset: async (app) => void (await procsReq({ t: "procs.reset", app })),
        logs: (app, replica, tail) => procsReq({ t: "procs.logs", app, ...(replica !== undefined ? { replica } : {}), tail }),
        follow: (app, fn) => procs.followLogs(app, fn),
        revision: (app) => w.deploy.current(app),
      }),
    },
    {
      path: "/apps",
      app: deploymentRoutes({
        known: (app) => hub.config().apps.some((a) => a.name === app),
        allowCommands: () => hub.config().api.allow_api_commands,
        current: (app) => w.deploy.current(app),
        rollouts: (app) => w.deploy.rollouts(app),
        rollout: (app, id) => w.deploy.rollout(app, id),
        revisions: (app) => w.deploy.revisions(app),
        prepare: (app, patch) => {
          const cfg = hub.config().apps.find((a) => a.name === app);
          const target = cfg ? w.deploy.specOf(cfg) : undefined;
          const own = w.deploy.configRevision(app);
          const fields = target?.revision !== undefined && target.revision !== own ? w.deploy.revisions(app).find((r) => r.number === target.revision)?.fields : undefined;
          return prepareSpec(w.current().raw, hub.config(), app, patch, fields as Record<string, unknown> | undefined, hub.cores);
        },
        deploy: (app, fields, by, options) => w.deploy.deploy(app, fields, { by, source: "api", options }),
        rollback: (app, revision, by) => w.deploy.rollback(app, { ...(revision !== undefined ? { revision } : {}), by }),
        control: (app, id, what, by) => w.deploy.control(app, id, what, by),
      }),
    },
    {
      path: "/checks",
      app: checkRoutes({
        list: checkList,
        history: (id) => hosts.health?.request({ t: "health.history", checkId: id }) ?? notRunning("health"),
        pushTtl: async (id, status, note) => {
          await (hosts.health?.request({ t: "health.ttl", checkId: id, status, ...(note !== undefined ? { note } : {}) }) ?? notRunning("health"));
        },
        create: (check) => {
          w.apiChecks.set(check.name, check);
          w.persistApiChecks();
          health.changed();
          health.flush();
        },
        remove: (id) => {
          if (!w.apiChecks.has(id)) return health.checks().has(id) ? "not_api" : "not_found";
          w.apiChecks.delete(id);
          w.persistApiChecks();
          health.changed();
          health.flush();
          return "removed";
        },
        allowCommandChecks: () => hub.config().api.allow_api_command_checks,
      }),
    },
    { path: "/health", app: healthSummaryRoutes({ list: checkList }) },
    { path: "/balancers", app: balancerRoutes({ views: balancer.views, view: balancer.view, drain: balancer.drain, setWeight: balancer.setWeight }) },
    {
      path: "/services",
      app: serviceRoutes({
        catalog: hub.catalog,
        persist: (ns, name, body) => (body ? hub.store.putRegistration(ns, name, { namespace: ns, name, body }) : hub.store.deleteRegistration(ns, name)),
      }),
    },
    {
      path: "/scaling",
      app: scalingRoutes({
        apps: scalingApps,
        latest: scaler.latest,
        history: scaler.history,
        forecast: (app) => hosts.scaler?.request({ t: "scaler.forecast", app }) ?? notRunning("scaler"),
        setPolicy: (app, policy) => scaler.setOverride(app, policy),
        simulate: (policy: ScalePolicy, points: SimulationPoint[], initialReplicas?: number) =>
          hosts.scaler?.request({ t: "scaler.simulate", policy, points, ...(initialReplicas !== undefined ? { initialReplicas } : {}) }, 60_000) ?? notRunning("scaler"),
        pushMetric,
      }),
    },
    { path: "/metrics", app: metricRoutes({ apps: scalingApps, pushMetric }) },
    { path: "/config", app: configRoutes({ current: w.current, patch: w.patch, dropOverlay: w.dropOverlay }) },
    { path: "/reload", app: reloadRoutes({ reload: w.reload }) },
    { path: "/alerts", app: alertRoutes({ alerts: w.alerts }) },
    { path: "/silences", app: silenceRoutes({ alerts: w.alerts }) },
    {
      path: "/cluster",
      app: clusterRoutes(
        hub.config().cluster
          ? {
              members: () => hosts.cluster?.request({ t: "cluster.members" }) ?? notRunning("cluster"),
              status: () => hosts.cluster?.request({ t: "cluster.status" }) ?? notRunning("cluster"),
              ...(w.sharedConfig ? { sharedConfig: w.sharedConfig } : {}),
            }
          : {},
      ),
    },
    {
      path: "/cluster",
      app: clusterPlacementRoutes({
        clusterApps: () => hub.config().apps.filter(isClusterApp).map((x) => x.name),
        ...(hub.config().cluster
          ? {
              view: () => hosts.cluster?.request({ t: "cluster.placement" }) ?? notRunning("cluster"),
              rebalance: (app: string) => hosts.cluster?.request({ t: "cluster.rebalance", app }, 30_000) ?? notRunning("cluster"),
            }
          : {}),
      }),
    },
    { path: "/tasks", app: taskRoutes({ tasks: w.tasks, allowApiTasks: () => hub.config().api.allow_api_tasks, defaults: () => ({ outputLimit: hub.config().task_queue.output_limit }) }) },
    { path: "/policies", app: policyRoutes({ runner: w.policies, validateFiles: w.validatePolicyFiles }) },
    { path: "/healing", app: healingRoutes({ runner: w.healing, config: () => hub.config().healing }) },
    { path: "/events", app: eventRoutes({ bus: hub.events, tickets: w.tickets, onDrop: () => hub.telemetry.eventBusDrop(1) }) },
  ];
}
