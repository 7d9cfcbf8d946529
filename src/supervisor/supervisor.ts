// The supervisor (main thread): composes config, catalog, state, the event bus, the workers and one link per
// subsystem; routes worker messages to their link; starts the admin API and DNS; shuts everything down in order.
// Config apply, API boot, the DNS adapter, the critical-endpoint reaper and event translation live beside it.
//
//   created --start()--> running --stop()--> stopped      (stop is idempotent; SIGHUP / PATCH -> apply while running)
import { hostDrivers } from "../procs/cgroups/host-report.ts";
import { hostname } from "node:os";
import { createTicketStore, type TokenEntry } from "../api/auth.ts";
import { registrationInput, type ServiceBody } from "../api/services.ts";
import type { ConfigError, ConfigProblem } from "../config/load.ts";
import type { Config, StandaloneCheckConfig } from "../config/schema.ts";
import { replicaBounds } from "../config/apps.ts";
import { toBalancerSpec } from "../config/balancers.ts";
import { resolveCount } from "../config/semantics.ts";
import type { DnsServer } from "../discovery/dns-server.ts";
import type { RequestMap, WorkerLog } from "../protocol/common.ts";
import type { FromProcs } from "../protocol/procs.ts";
import type { FromCluster } from "../protocol/cluster.ts";
import { type CatalogOverrides, createCatalog } from "../state/catalog.ts";
import { createEventBus, type EventInput } from "../state/event-bus.ts";
import { openStore } from "../state/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import { createTelemetry } from "../telemetry/metrics.ts";
import { VERSION } from "../version.ts";
import { ensureAdminToken } from "./admin-token.ts";
import { type ApiServer, startApiServer } from "./api-server.ts";
import { buildApiModules } from "./api-wiring.ts";
import { createBalancerLink } from "./balancer-link.ts";
import { type ClusterLink, createClusterLink } from "./cluster-link.ts";
import { createPlacementLink, type PlacementLink } from "./placement-link.ts";
import { toClusterSpec } from "../config/cluster.ts";
import { createConfigApplier, type ReloadableSection } from "./config-apply.ts";
import { dnsTtlSeconds, startDns } from "./dns-adapter.ts";
import { overlayAt } from "../config/overlay.ts";
import { createCriticalReaper } from "./endpoint-reaper.ts";
import { workerSpecifier } from "./entrypoints.ts";
import { catalogChangeEvent, logLevelOf, workerStateEvent } from "./event-translation.ts";
import { createHealthLink } from "./health-link.ts";
import { allHosts, type Hub, notRunning, type WorkerHosts } from "./hub.ts";
import { createJwtCache } from "./jwt-cache.ts";
import { createProcsLink } from "./procs-link.ts";
import { createDeployRunner } from "./deploy-runner.ts";
import { mergeWindows } from "./balancer-stats.ts";
import { createDeployStore } from "../state/deployments.ts";
import { createScalerLink } from "./scaler-link.ts";
import type { Handover } from "./takeover.ts";
import { createHandover } from "./takeover-handover.ts";
import { createWorkerHost as createThreadHost, type WorkerHost, type WorkerHostOptions, type WorkerInfo } from "./worker-host.ts";
import { wireAlerts } from "./alerts-wiring.ts";
import { wireTasks } from "./tasks-wiring.ts";
import { wirePolicies } from "./policies-wiring.ts";
import { wireHealing } from "./healing-wiring.ts";
import type { HealingRunner } from "../healing/runner.ts";
import { loadPolicyDir, policyDir, type PolicySetResult } from "../policy/loader.ts";

export interface SupervisorOptions {
  config: Config;
  raw?: unknown;
  /** The file with environment overrides, without the overlay (default: raw). */
  base?: unknown;
  /** The overlay the config was loaded with. */
  overlay?: unknown;
  configPath?: string;
  logger: Logger;
  env?: Record<string, string | undefined>;
  /**
   * Start without the balancer workers (a successor taking over): their listeners would share the ports at once and
   * answer 503 until the endpoints pass; handover.startBalancers() starts them once caught up.
   */
  deferBalancers?: boolean;
  /** Move a state store that is not a database aside and start with an empty one (`polis agent --recover`). */
  recover?: boolean;
  /** Makes each worker host (default: a worker thread per host); tests pass hosts that need no thread. */
  workerHost?: WorkerHostFactory;
}

/** createWorkerHost's signature: one host per worker kind, typed by that kind's protocol. */
export type WorkerHostFactory = <ToWorker extends { readonly t: string }, FromWorker, Requests extends RequestMap>(
  opts: WorkerHostOptions<ToWorker, FromWorker>,
) => WorkerHost<ToWorker, FromWorker, Requests>;

export interface Supervisor {
  readonly config: Config;
  readonly apiUrl: string;
  start(): Promise<void>;
  /** Re-read the config file and apply it (SIGHUP). */
  reload(): Promise<{ ok: true; reloaded: string[] } | { ok: false; status: 400 | 403 | 409 | 503; error: ConfigError | { problems: readonly ConfigProblem[]; message: string } }>;
  stop(): Promise<void>;
  workers(): WorkerInfo[];
  /** Why the agent does not serve all it should (a store fault, a balancer that cannot bind), or undefined: /readyz's reason. */
  notReady(): string | undefined;
  /** Calls `fn` once, as soon as notReady() is undefined (at once when it already is); returns a cancel function. */
  whenReady(fn: () => void): () => void;
  /** How long stop() may take: the shutdown timeout, or longer when an app's own stop timeout needs it. */
  stopBoundMs(): number;
  /** What a takeover gives up and takes back (takeover.ts). */
  readonly handover: Handover;
}

/** How often API-registered endpoints are checked against discovery.deregister_critical_after. */
const REAP_INTERVAL_MS = 5000;

export function createSupervisor(opts: SupervisorOptions): Supervisor {
  let config = opts.config;
  let raw: unknown = opts.raw ?? {};
  const log = opts.logger;
  const startedAt = Date.now();
  const cores = navigator.hardwareConcurrency || 1;
  // A store fault is reported once when it starts (event and one log line) and once when it ends; the API
  // refuses writes while it lasts (507 when the disk is full, 503 when the file is gone) and /readyz says why.
  const store = openStore(config.agent.data_dir, {
    recover: opts.recover ?? false,
    onFault: (f) => {
      if (f) publish({ type: `store.${f.reason}`, source: "supervisor", target: "store", severity: "critical", message: f.message, data: { path: f.path, reason: f.reason } });
      else publish({ type: "store.recovered", source: "supervisor", target: "store", severity: "info", message: `the state store ${store.path} accepts writes again` });
    },
  });
  const events = createEventBus({ startSeq: store.lastEventSeq() });
  const catalog = createCatalog({
    overrides: store.getKv<CatalogOverrides>("catalog.overrides") ?? {},
    persist: (o) => store.putKv("catalog.overrides", o),
  });
  const telemetry = createTelemetry({
    serviceName: "polis",
    serviceVersion: VERSION,
    instanceId: config.agent.name ?? hostname(),
    prometheus: config.telemetry.prometheus,
    ...(config.telemetry.otlp ? { otlp: { endpoint: config.telemetry.otlp.endpoint, intervalMs: config.telemetry.otlp.interval, headers: config.telemetry.otlp.headers } } : {}),
    env: opts.env ?? process.env,
    log,
  });
  // Off while a successor agent takes over: it numbers events on from the last one written.
  let persistEvents = true;
  events.subscribe((e) => {
    if (persistEvents) store.appendEvent(e);
    telemetry.event(e.type);
  });
  const flushTimer = setInterval(() => {
    store.check();
    store.flush();
  }, 250);
  const hosts: WorkerHosts = { balancers: [] };
  const tickets = createTicketStore();
  const jwt = createJwtCache();
  const apiChecks = new Map<string, StandaloneCheckConfig>(Object.entries(store.getKv<Record<string, StandaloneCheckConfig>>("checks.api") ?? {}));
  let api: ApiServer | undefined;
  let dns: DnsServer | undefined;
  let ready = false;
  let stopped = false;
  let adminToken: string | undefined;

  const publish = (e: EventInput) => {
    const ev = events.publish(e);
    log.log(logLevelOf(e.severity), e.message, { event: e.type, target: e.target, seq: ev.seq });
  };
  const balancerHosts = () => hosts.balancers;

  const hub: Hub = { config: () => config, cores, catalog, events, publish, store, log, telemetry, hosts };
  const procs = createProcsLink({
    config: () => config,
    cores,
    catalog,
    publish,
    store,
    telemetry,
    send: (msg) => hosts.procs?.send(msg),
    drainEndpoint: (ns, service, id) => balancer.drainCatalogEndpoint(ns, service, id),
    healthTargetsChanged: () => health.changed(),
    endpointHealth: (e) => health.healthOf(e),
    replicasChanged: (app) => {
      scaler.replicasChanged(app);
      const ready = procs.readyReplicas(app).length;
      const a = config.apps.find((x) => x.name === app);
      if (a) telemetry.replicas(app, procs.desiredOf(app) ?? replicaBounds(a, cores).initial, ready);
      // An app a reload removed: its last replica is gone, so are its series (gauges, restarts, replicas).
      else if (ready === 0) telemetry.forget("app", app);
    },
    revisionOf: (a) => deploy.specOf(a),
    clusterSlots: (app) => placement?.slotsOf(app),
  });
  const deploy = createDeployRunner({
    config: () => config,
    cores,
    store: createDeployStore(store),
    catalog,
    publish,
    log,
    snapshot: () => hosts.procs?.request({ t: "procs.snapshot" }) ?? notRunning("procs"),
    launch: (app, spec) => hosts.procs?.request({ t: "procs.launch", app, spec }, 120_000) ?? notRunning("procs"),
    retire: (app, replica) => hosts.procs?.request({ t: "procs.retire", app, replica }, 120_000) ?? notRunning("procs"),
    applySpecs: () => procs.apply(),
    traffic: (ids) => {
      const m = mergeWindows(balancer.windowsOf(ids));
      return { requests: m.requests, failures: m.responses["5xx"] + m.errors, p95Ms: m.latency.p95Ms, p99Ms: m.latency.p99Ms };
    },
    replicaRevisions: (app) => procs.replicaRevisions(app),
    splitChanged: () => balancer.refresh(),
  });
  const health = createHealthLink({ config: () => config, catalog, publish, telemetry, send: (msg) => hosts.health?.send(msg) }, () => procs.readyReplicas(), () => apiChecks.values());
  const scaler = createScalerLink(
    {
      config: () => config,
      cores,
      publish,
      log,
      store,
      telemetry,
      send: (msg) => hosts.scaler?.send(msg),
      scale: (app, replicas) => hosts.procs?.request({ t: "procs.scale", app, replicas }, 120_000) ?? notRunning("procs"),
    },
    procs,
  );
  // The cluster section is fixed at start (restart-only), so the link and its worker exist for the agent's life or not at all.
  const clusterSpec = config.cluster ? toClusterSpec(config.cluster, config.agent.name, VERSION) : undefined;
  const placement: PlacementLink | undefined = clusterSpec
    ? createPlacementLink({ config: () => config, ttlSeconds: clusterSpec.leaseTtlSeconds, node: clusterSpec.node.name, store, publish, send: (msg) => hosts.cluster?.send(msg), applyProcs: () => procs.apply() })
    : undefined;
  const cluster: ClusterLink | undefined = clusterSpec
    ? createClusterLink({ config: () => config, spec: clusterSpec, catalog, publish, send: (msg) => hosts.cluster?.send(msg), placementApps: () => placement?.apps() ?? [],
        // Applied like a reload (the event says which sections changed, or why it was refused here).
        onSharedConfig: (record, revision) => void configApply.applyShared(record, revision),
      })
    : undefined;
  if (cluster) telemetry.observeCluster(() => cluster.status());
  let healing: HealingRunner | undefined;
  const balancer = createBalancerLink({ config: () => config, catalog, publish, telemetry, balancerHosts, split: (ns, svc) => deploy.split(ns, svc), failedOver: (b) => healing?.failedOver(b) ?? false, ...(cluster ? { locality: { node: cluster.node, zone: cluster.zone } } : {}) }, (s) => scaler.ingest(s));
  // Policy webhook actions are sent on the alerts' delivery path; their receivers come from the installed policies.
  const alerts = wireAlerts(hub, { health, scaler, balancer }, () => sup.apiUrl, (name) => policies.webhookReceiver(name));
  const tasks = wireTasks(hub);
  const policies = wirePolicies(hub, { procs, health, balancer, scaler, deploy, alerts, tasks }, opts.env ?? process.env);
  // The balancer link asks it which pools are failed over; it is wired after the link.
  healing = wireHealing(hub, { procs, health, balancer, scaler, alerts });
  /** The policy files the config names, validated as one set against the config's tasks. */
  const readPolicies = (c: Config): PolicySetResult => loadPolicyDir(policyDir(c.policies.dir, opts.configPath), { tasks: c.tasks.map((t) => t.name) });
  /** Installs the files' set, or keeps the running one and says why (a bad file never half-applies). */
  const installPolicies = (r: PolicySetResult): boolean => {
    if (r.ok) {
      policies.setFilePolicies(r.policies);
      publish({ type: "policy.loaded", source: "supervisor", target: "policies", severity: "info", message: `${r.policies.length} policy(ies) loaded from ${r.files.length} file(s)`, data: { policies: r.policies.map((p) => `${p.namespace}/${p.name}`), files: r.files } });
      return true;
    }
    publish({ type: "policy.rejected", source: "supervisor", target: "policies", severity: "error", message: `${r.message}; the previous policy set keeps running`, data: { problems: r.problems } });
    return false;
  };
  const reaper = createCriticalReaper({ catalog, publish, afterMs: () => config.discovery.deregister_critical_after });

  const balancerInit = (index: number) => ({ index, balancers: config.balancers.map((b) => toBalancerSpec(b, config, cores)), ...balancer.initState(), failover: balancer.failedOver() });

  const logWorker = (name: string, m: WorkerLog) => log.log(m.level, m.msg, { worker: name, ...m.fields });
  const onStateChange = (info: WorkerInfo, why: string) => {
    const e = workerStateEvent(info, why);
    if (e) publish(e);
  };
  /** One host per worker kind, typed by its protocol; each routes its messages to its own link. */
  const createHosts = () => {
    const createWorkerHost = opts.workerHost ?? createThreadHost;
    const route = <M extends { t: string }>(name: string, handle: (m: M) => boolean) => (m: M | WorkerLog) => {
      if (m.t === "log") return logWorker(name, m as WorkerLog);
      if (!handle(m as M)) log.debug("unrouted worker message", { worker: name, type: m.t });
    };
    const procsMessage = (m: FromProcs) => {
      if (m.t === "procs.event" && "id" in m.event) deploy.replicaChanged(m.event.app);
      return procs.handle(m) || tasks.handle(m);
    };
    hosts.procs = createWorkerHost({ name: "procs", specifier: workerSpecifier("procs"), state: () => procs.state(), onMessage: route("procs", procsMessage), onStateChange });
    hosts.health = createWorkerHost({ name: "health", specifier: workerSpecifier("health"), state: () => health.state(), onMessage: route("health", health.handle), onStateChange });
    const n = resolveCount(config.agent.balancer_workers, cores);
    for (let i = 0; i < n; i++) {
      const name = `balancer-${i}`;
      hosts.balancers.push(createWorkerHost({ name, specifier: workerSpecifier("balancer"), state: () => balancerInit(i), onMessage: route(name, balancer.handle), onStateChange }));
    }
    hosts.scaler = createWorkerHost({ name: "scaler", specifier: workerSpecifier("scaler"), state: () => scaler.state(), onMessage: route("scaler", scaler.handle), onStateChange });
    if (cluster) hosts.cluster = createWorkerHost({ name: "cluster", specifier: workerSpecifier("cluster"), state: () => cluster.state(), onMessage: route("cluster", (m: FromCluster) => cluster.handle(m) || (placement?.handle(m) ?? false)), onStateChange });
  };

  /** Static services from the config, replacing what an earlier config put there. */
  const syncConfigServices = () => {
    const wanted = new Set(config.services.map((s) => `${s.namespace}/${s.name}`));
    for (const s of catalog.list()) if (s.source === "config" && !wanted.has(`${s.namespace}/${s.name}`)) catalog.removeService(s.namespace, s.name);
    for (const s of config.services) {
      catalog.upsertService(
        {
          name: s.name,
          namespace: s.namespace,
          ...(s.version !== undefined ? { version: s.version } : {}),
          labels: s.labels,
          annotations: s.annotations,
          endpoints: s.endpoints.map((e) => ({ id: e.id ?? `${e.address}:${e.port}`, address: e.address, port: e.port, protocol: e.protocol, weight: e.weight, metadata: e.metadata })),
        },
        "config",
      );
    }
  };

  const restoreRegistrations = () => {
    for (const r of store.registrations() as Array<{ namespace: string; name: string; body: ServiceBody }>) {
      try {
        catalog.upsertService(registrationInput(r.namespace, r.name, r.body), "api");
      } catch (e) {
        log.warn("skipped a stored registration", { service: `${r.namespace}/${r.name}`, error: e });
      }
    }
  };

  const tokens = (): TokenEntry[] => [
    ...config.api.tokens.map((t) => ({ name: t.name, token: t.token, role: t.role })),
    ...(adminToken ? [{ name: "local-admin", token: adminToken, role: "admin" as const }] : []),
  ];

  /** Acts on an accepted config: each changed section goes to the links that derive from it. */
  const commitConfig = (next: Config, nextRaw: unknown, changed: readonly ReloadableSection[]) => {
    config = next;
    raw = nextRaw;
    log.setLevel(config.agent.log_level);
    const has = (s: ReloadableSection) => changed.includes(s);
    if (has("services")) syncConfigServices();
    // Revisions first: a changed app starts its rollout, and procs then gets the rollout's target.
    if (has("apps")) deploy.sync(next);
    // Balancers too: an app spec carries the longest drain_timeout, which bounds its drain hooks.
    if (has("apps") || has("balancers")) procs.apply();
    if (has("apps")) placement?.reload();
    if (has("apps") || has("checks")) health.changed();
    // agent.scaler_interval travels with the scaler's policies.
    if (has("apps") || has("agent")) scaler.reload();
    if (has("dns")) dns?.setTtl(dnsTtlSeconds(config.dns));
    if (has("alerts")) alerts.reload();
    if (has("tasks")) tasks.reload();
    if (has("policies") || has("tasks")) installPolicies(readPolicies(next));
    // Apps matter too: a balancer's defaults (hold_when_empty) follow its app's bounds. Unchanged listeners are kept.
    if (has("balancers") || has("apps")) hosts.balancers.forEach((h, i) => h.send({ t: "init", state: balancerInit(i) }));
    balancer.changed();
  };
  const overlay = overlayAt(config.agent.data_dir);
  const configApply = createConfigApplier(
    { current: () => config, jwt, commit: commitConfig, publish, overlay, extraTokens: () => (adminToken ? [{ token: adminToken, role: "admin" }] : []) },
    { raw, base: opts.base ?? raw, overlay: opts.overlay },
  );

  // A store fault (full, deleted, replaced) comes first: it is what the operator must fix.
  const notReady = () => store.fault()?.message ?? (balancer.notListening().join("; ") || undefined);

  const bootApi = () =>
    startApiServer({
      api: config.api,
      prometheus: config.telemetry.prometheus,
      onRequest: telemetry.apiRequest,
      tokens,
      jwt: jwt.authenticator,
      tickets,
      ready: () => ready && allHosts(hosts).every((h) => h.info().state === "running"),
      notReady,
      // A stale cluster catalog keeps the agent ready (local traffic is served) but is shown.
      readyDetail: () => {
        const s = cluster?.status();
        if (!cluster) return undefined;
        return { cluster: { stale: s?.stale ?? true, connected: s?.connected ?? false, ...(s?.staleSince !== undefined ? { staleSince: s.staleSince } : {}), ...(s?.lastError ? { lastError: s.lastError } : {}) } };
      },
      modules: buildApiModules({
        hub,
        procs,
        health,
        balancer,
        scaler,
        tickets,
        hosts: () => allHosts(hosts),
        startedAt,
        configPath: opts.configPath,
        current: () => {
          const d = configApply.documents();
          return { config, raw: d.raw, base: d.base, overlay: d.overlay, overlayFile: overlay.file, source: opts.configPath };
        },
        patch: async (p, caller) => configApply.patch(p, caller),
        dropOverlay: async (caller) => configApply.dropOverlay(caller),
        sharedConfig: cluster
          ? { node: cluster.node, state: () => configApply.sharedState(), check: (doc) => configApply.checkShared(doc), put: (record) => hosts.cluster?.request({ t: "cluster.config.put", record }) ?? Promise.reject(new Error("the cluster worker is not running")) }
          : undefined,
        reload: async () => {
          const r = await sup.reload();
          return r.ok ? r : { ok: false, status: r.status, problems: r.error.problems, message: r.error.message };
        },
        alerts,
        tasks,
        policies,
        healing: healing!,
        validatePolicyFiles: () => readPolicies(config),
        apiChecks,
        persistApiChecks: () => store.putKv("checks.api", Object.fromEntries(apiChecks)),
        deploy,
      }),
      prometheusText: () => telemetry.prometheusText(),
      log,
    });

  const handover = createHandover({
    procs: () => hosts.procs,
    scaler: () => hosts.scaler,
    cluster: () => hosts.cluster,
    apps: () => config.apps.map((a) => a.name),
    desiredOf: (app) => procs.desiredOf(app),
    setDesired: (app, n) => procs.setDesired(app, n),
    pools: () => balancer.state(),
    subscribe: (fn) => events.subscribe(fn),
    closeListeners: async () => {
      api?.stop();
      api = undefined;
      await dns?.stop();
      dns = undefined;
    },
    openListeners: async () => {
      api = bootApi();
      await api.grpc;
      dns = await startDns(config.dns, catalog, log, telemetry.dnsQuery, cluster?.node);
    },
    persistEvents: (on) => {
      if (!on) store.flush();
      persistEvents = on;
    },
    stopTimeoutMs: () => config.agent.shutdown_timeout,
    holdDeploys: (on) => (on ? deploy.stop() : deploy.start()),
    startBalancers: () => Promise.all(hosts.balancers.map((h) => (h.info().state === "stopped" ? h.start() : undefined))).then(() => {}),
  });

  const sup: Supervisor = {
    get config() {
      return config;
    },
    get apiUrl() {
      return api?.url ?? "";
    },
    async start() {
      if (config.api.tokens.length === 0) {
        const t = ensureAdminToken(config.agent.data_dir);
        adminToken = t.token;
        log.info(t.created ? "no API token configured: created one for local use" : "using the local admin token", { file: t.file });
      }
      const drivers = hostDrivers();
      // Said once at start: an operator must know whether a memory limit is the kernel's or nobody's.
      log.log(drivers.limits.gaps.length > 0 ? "warn" : "info", `resource limits: cgroup ${drivers.limits.cgroup}, enforced: ${drivers.limits.enforced.join(", ") || "none"}`, {
        ...(drivers.limits.gaps.length > 0 ? { gaps: drivers.limits.gaps.join("; ") } : {}),
        oci_runtime: drivers.oci.runtime ?? drivers.oci.note,
      });
      syncConfigServices();
      restoreRegistrations();
      // Before procs starts: its first specs carry each app's revision (and a rollout the last run left resumes).
      deploy.sync(config);
      procs.syncServices();
      createHosts();
      jwt.commit(jwt.prepare(config));
      api = bootApi();
      await api.grpc;
      dns = await startDns(config.dns, catalog, log, telemetry.dnsQuery, cluster?.node);
      await Promise.all(allHosts(hosts).filter((h) => !(opts.deferBalancers && hosts.balancers.includes(h as never))).map((h) => h.start()));
      ready = true;
      reaper.start(REAP_INTERVAL_MS);
      alerts.start();
      deploy.start();
      await tasks.start();
      installPolicies(readPolicies(config));
      policies.start();
      healing?.start();
      catalog.onChange((c) => publish(catalogChangeEvent(c)));
      publish({ type: "agent.started", source: "supervisor", target: "agent", severity: "info", message: `agent ${VERSION} started with ${allHosts(hosts).length} workers`, data: { workers: allHosts(hosts).map((h) => h.name) } });
    },
    async reload() {
      if (!opts.configPath) return { ok: true, reloaded: [] };
      // The policy files first: a bad one refuses the whole reload, so nothing changes.
      const pre = readPolicies(config);
      if (!pre.ok) {
        publish({ type: "policy.rejected", source: "supervisor", target: "policies", severity: "error", message: `${pre.message}; nothing was reloaded, the previous policy set keeps running`, data: { problems: pre.problems } });
        return { ok: false, status: 400, error: { problems: pre.problems.map((p) => ({ path: `${p.file}: ${p.path}`, message: p.message })), message: `${pre.message}; nothing was reloaded` } };
      }
      const r = configApply.applyFile(opts.configPath, opts.env);
      if (!r.ok) return { ok: false, status: r.status, error: { problems: r.problems, message: r.message } };
      if (!r.reloaded.includes("policies") && !r.reloaded.includes("tasks")) installPolicies(pre);
      // Certificates are re-read on every reload even when their paths did not change (renewed in place):
      // new connections get the new certificate, open ones keep theirs.
      for (const b of config.balancers.filter((x) => x.tls)) {
        for (const h of hosts.balancers) h.request({ t: "balancer.reload-tls", balancer: b.name }).catch((e) => log.warn("TLS reload failed", { balancer: b.name, error: e }));
      }
      return r;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      ready = false;
      // Stop taking work first, then let workers finish (procs stops its children), then persist.
      api?.stop();
      await dns?.stop();
      reaper.stop();
      // Leave the cluster first, so other nodes stop sending traffic here before the replicas go.
      await hosts.cluster?.stop(config.agent.shutdown_timeout);
      policies.stop();
      healing?.stop();
      alerts.stop();
      placement?.stop();
      alerts.close();
      deploy.stop();
      tasks.stop();
      tasks.close();
      balancer.stop();
      // The procs worker must outlive every replica's stop timeout, or a replica that ignores SIGTERM would be
      // orphaned when the worker is terminated before it sends SIGKILL.
      await Promise.all(allHosts(hosts).map((h) => h.stop(h.name === "procs" ? sup.stopBoundMs() : config.agent.shutdown_timeout)));
      publish({ type: "agent.stopped", source: "supervisor", target: "agent", severity: "info", message: "agent stopped" });
      await telemetry.shutdown().catch(() => {});
      clearInterval(flushTimer);
      try {
        store.close();
      } catch (e) {
        // The last events could not be written (the fault was reported when it started): the stop itself is clean.
        log.warn("state store closed with unsaved events", { error: e });
      }
    },
    workers: () => allHosts(hosts).map((h) => h.info()),
    notReady,
    whenReady(fn) {
      if (notReady() === undefined) {
        fn();
        return () => {};
      }
      // What clears a reason is reported as an event (balancer.listening), so each event is a moment to look again.
      const off = events.subscribe(() => {
        if (notReady() !== undefined) return;
        off();
        fn();
      });
      return off;
    },
    stopBoundMs: () => Math.max(config.agent.shutdown_timeout, ...config.apps.map((a) => a.stop.timeout + 2000)),
    handover,
  };
  return sup;
}
