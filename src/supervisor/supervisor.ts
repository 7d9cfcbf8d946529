// The supervisor (main thread): owns config, catalog, state and the event bus; runs the workers and routes their
// messages through one link per subsystem; serves the admin API, DNS and metrics; shuts everything down in order.
//
//   created --start()--> running --stop()--> stopped      (stop is idempotent; SIGHUP / PATCH -> apply() while running)
import { websocket } from "hono/bun";
import { hostname } from "node:os";
import { Hono } from "hono";
import { createApi } from "../api/app.ts";
import { type Authenticator, chainAuthenticators, createTicketStore, createTokenAuthenticator, type TokenEntry } from "../api/auth.ts";
import type { ApplyResult } from "../api/config.ts";
import { jwtAuthenticatorFromConfig } from "../api/jwt.ts";
import { openApiRoutes } from "../api/openapi.ts";
import { registrationInput, type ServiceBody } from "../api/services.ts";
import { type ConfigError, type ConfigProblem, decodeConfig, loadConfigFile } from "../config/load.ts";
import type { Config, StandaloneCheckConfig } from "../config/schema.ts";
import { replicaBounds } from "../config/apps.ts";
import { resolveCount } from "../config/semantics.ts";
import { splitListen } from "../config/units.ts";
import { createDnsServer, type DnsServer } from "../discovery/dns-server.ts";
import type { CommonFromWorker } from "../protocol/common.ts";
import { createCatalog } from "../state/catalog.ts";
import { createEventBus, type EventInput } from "../state/event-bus.ts";
import { openStore } from "../state/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import { createTelemetry } from "../telemetry/metrics.ts";
import { VERSION } from "../version.ts";
import { ensureAdminToken } from "./admin-token.ts";
import { buildApiModules } from "./api-wiring.ts";
import { createBalancerLink } from "./balancer-link.ts";
import { type WorkerKind, workerSpecifier } from "./entrypoints.ts";
import { createHealthLink } from "./health-link.ts";
import type { Hub } from "./hub.ts";
import { createProcsLink } from "./procs-link.ts";
import { createScalerLink } from "./scaler-link.ts";
import { createWorkerHost, type WorkerHost, type WorkerInfo } from "./worker-host.ts";

export interface SupervisorOptions {
  config: Config;
  raw?: unknown;
  configPath?: string;
  logger: Logger;
  env?: Record<string, string | undefined>;
}

export interface Supervisor {
  readonly config: Config;
  readonly apiUrl: string;
  start(): Promise<void>;
  /** Re-read the config file and apply it (SIGHUP). */
  reload(): Promise<{ ok: true; reloaded: string[] } | { ok: false; error: ConfigError | { problems: readonly ConfigProblem[]; message: string } }>;
  stop(): Promise<void>;
  workers(): WorkerInfo[];
  /** How long stop() may take: the shutdown timeout, or longer when an app's own stop timeout needs it. */
  stopBoundMs(): number;
}

/** "path: message" of the first few problems, so an event or log line names the field without its data. */
const problemList = (problems: readonly ConfigProblem[]) =>
  problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`).join("; ") + (problems.length > 3 ? `; and ${problems.length - 3} more` : "");

/** Settings that need a restart: the listeners and files opened at start. */
const RESTART_ONLY: ReadonlyArray<[string, (c: Config) => unknown]> = [
  ["agent.data_dir", (c) => c.agent.data_dir],
  ["agent.balancer_workers", (c) => c.agent.balancer_workers],
  ["api.listen", (c) => c.api.listen],
  ["api.tls", (c) => c.api.tls],
  ["dns", (c) => [c.dns.enabled, c.dns.listen, c.dns.domain]],
  ["telemetry", (c) => c.telemetry],
];

export function createSupervisor(opts: SupervisorOptions): Supervisor {
  let config = opts.config;
  let raw: unknown = opts.raw ?? {};
  const log = opts.logger;
  const startedAt = Date.now();
  const cores = navigator.hardwareConcurrency || 1;
  const store = openStore(config.agent.data_dir);
  const events = createEventBus({ startSeq: store.lastEventSeq() });
  const catalog = createCatalog();
  const telemetry = createTelemetry({
    serviceName: "polis",
    serviceVersion: VERSION,
    instanceId: config.agent.name ?? hostname(),
    prometheus: config.telemetry.prometheus,
    ...(config.telemetry.otlp ? { otlp: { endpoint: config.telemetry.otlp.endpoint, intervalMs: config.telemetry.otlp.interval, headers: config.telemetry.otlp.headers } } : {}),
    env: opts.env ?? process.env,
  });
  events.subscribe((e) => {
    store.appendEvent(e);
    telemetry.event(e.type);
  });
  const flushTimer = setInterval(() => store.flush(), 250);
  const hosts = new Map<string, WorkerHost<unknown>>();
  const tickets = createTicketStore();
  const apiChecks = new Map<string, StandaloneCheckConfig>(Object.entries(store.getKv<Record<string, StandaloneCheckConfig>>("checks.api") ?? {}));
  let server: ReturnType<typeof Bun.serve> | undefined;
  let dns: DnsServer | undefined;
  let ready = false;
  let stopped = false;
  let adminToken: string | undefined;
  let deregisterTimer: ReturnType<typeof setInterval> | undefined;

  const publish = (e: EventInput) => {
    const ev = events.publish(e);
    const level = e.severity === "critical" || e.severity === "error" ? "error" : e.severity === "warning" ? "warn" : e.severity === "debug" ? "debug" : "info";
    log.log(level, e.message, { event: e.type, target: e.target, seq: ev.seq });
  };

  const hub: Hub = {
    config: () => config,
    cores,
    catalog,
    events,
    publish,
    store,
    log,
    telemetry,
    host: (name) => hosts.get(name),
    balancerHosts: () => [...hosts.entries()].filter(([n]) => n.startsWith("balancer-")).map(([, h]) => h),
    drainEndpoint: (ns, service, id) => balancer.drainCatalogEndpoint(ns, service, id),
    healthTargetsChanged: () => health.changed(),
    replicasChanged: (app) => {
      scaler.replicasChanged(app);
      const ready = procs.readyReplicas(app).length;
      const a = config.apps.find((x) => x.name === app);
      if (a) telemetry.replicas(app, procs.desiredOf(app) ?? replicaBounds(a, cores).initial, ready);
    },
  };
  const procs = createProcsLink(hub);
  const health = createHealthLink(hub, () => procs.readyReplicas(), () => apiChecks.values());
  const scaler = createScalerLink(hub, procs);
  const balancer = createBalancerLink(hub, (s) => scaler.ingest(s));

  /** Balancer configs as workers get them: defaults that depend on other sections resolved here. */
  const balancerConfigs = () =>
    config.balancers.map((b) => {
      if (b.hold_when_empty !== undefined) return b;
      const app = b.backends.app ? config.apps.find((a) => a.name === b.backends.app) : undefined;
      const scalesToZero = app !== undefined && typeof app.replicas === "object" && resolveCount(app.replicas.min, cores) === 0;
      // An app that scales to zero gets its first request held until a replica is ready (Knative's activator does this).
      return { ...b, hold_when_empty: scalesToZero ? 30_000 : 0 };
    });

  const workerState = (kind: WorkerKind, index: number) => {
    switch (kind) {
      case "procs": return { procs: procs.state() };
      case "health": return { health: health.state() };
      case "balancer": return { balancer: { index, balancers: balancerConfigs(), pools: balancer.state() } };
      case "scaler": return { scaler: scaler.state() };
    }
  };

  const onWorkerMessage = (name: string) => (msg: CommonFromWorker | { t: string }) => {
    if (msg.t === "log") {
      const m = msg as Extract<CommonFromWorker, { t: "log" }>;
      log.log(m.level, m.msg, { worker: name, ...m.fields });
      return;
    }
    const handled =
      (name === "procs" && procs.handle(msg as never)) ||
      (name === "health" && health.handle(msg as never)) ||
      (name === "scaler" && scaler.handle(msg as never)) ||
      (name.startsWith("balancer-") && balancer.handle(msg as never));
    if (!handled) log.debug("unrouted worker message", { worker: name, type: msg.t });
  };

  const addHost = (kind: WorkerKind, index = 0) => {
    const name = kind === "balancer" ? `balancer-${index}` : kind;
    const host = createWorkerHost<{ t: string }, unknown>({
      name,
      specifier: workerSpecifier(kind),
      state: () => workerState(kind, index),
      onMessage: onWorkerMessage(name),
      onStateChange: (info, why) => {
        if (info.state === "restarting") {
          publish({ type: "worker.crashed", source: "supervisor", target: name, severity: "error", message: `worker ${name} ${why}`, data: { restarts: info.restarts } });
        } else if (info.state === "running" && info.restarts > 0) {
          publish({ type: "worker.restarted", source: "supervisor", target: name, severity: "info", message: `worker ${name} is running again after ${info.restarts} restart(s)`, data: { restarts: info.restarts } });
        }
      },
    });
    hosts.set(name, host);
    return host;
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

  /** The JWT authenticator for the current api.jwt, rebuilt only when that section changes (reading the key once). */
  let jwtAuth: { key: string; auth: Authenticator | undefined } | undefined;
  const buildJwt = (c: Config): { key: string; auth: Authenticator | undefined } => {
    const key = JSON.stringify(c.api.jwt ?? null);
    if (jwtAuth?.key === key) return jwtAuth;
    return { key, auth: c.api.jwt ? jwtAuthenticatorFromConfig(c.api.jwt) : undefined };
  };
  const jwtAuthenticator: Authenticator = {
    verify: (credential) => jwtAuth?.auth?.verify(credential) ?? Promise.resolve(undefined),
  };

  /** Validates a whole raw config and applies it, or changes nothing. Shared by SIGHUP and PATCH /v1/config. */
  const apply = async (nextRaw: unknown, source: string): Promise<ApplyResult> => {
    const decoded = decodeConfig(nextRaw, source);
    if (!decoded.ok) return { ok: false, status: 400, problems: decoded.error.problems, message: `the config has ${decoded.error.problems.length} problem(s); nothing was changed` };
    const next = decoded.config;
    let nextJwt: ReturnType<typeof buildJwt>;
    try {
      nextJwt = buildJwt(next);
    } catch (e) {
      return { ok: false, status: 400, problems: [{ path: "api.jwt", message: (e as Error).message }], message: `api.jwt: ${(e as Error).message}; nothing was changed` };
    }
    const restart: ConfigProblem[] = [];
    for (const [path, get] of RESTART_ONLY) {
      if (JSON.stringify(get(next)) !== JSON.stringify(get(config))) restart.push({ path, message: "changing this needs an agent restart" });
    }
    if (restart.length > 0) return { ok: false, status: 409, problems: restart, message: `${restart.map((p) => p.path).join(", ")} can only change with a restart; nothing was changed` };
    const reloaded = (["agent", "api", "apps", "checks", "balancers", "services", "discovery"] as const).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(config[k]));
    config = next;
    raw = nextRaw;
    jwtAuth = nextJwt;
    log.setLevel(config.agent.log_level);
    if (reloaded.includes("services")) syncConfigServices();
    if (reloaded.includes("apps")) procs.apply();
    if (reloaded.includes("apps") || reloaded.includes("checks")) health.changed();
    if (reloaded.includes("apps")) scaler.reload();
    // Apps matter too: a balancer's defaults (hold_when_empty) follow its app's bounds. Unchanged listeners are kept.
    if (reloaded.includes("balancers") || reloaded.includes("apps")) for (const h of hub.balancerHosts()) h.send({ t: "init", state: workerState("balancer", Number(h.name.split("-")[1])) });
    balancer.changed();
    publish({ type: "config.reloaded", source: "supervisor", target: "config", severity: "info", message: `config applied from ${source}; changed: ${reloaded.join(", ") || "nothing"}`, data: { reloaded } });
    return { ok: true, reloaded: [...reloaded] };
  };

  const startApi = () => {
    const { hostname: host, port } = splitListen(config.api.listen);
    jwtAuth = buildJwt(config);
    const metrics = new Hono();
    metrics.get("/", async (c) => c.text(await telemetry.prometheusText(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
    const app = createApi({
      auth: chainAuthenticators([createTokenAuthenticator(tokens), jwtAuthenticator]),
      tickets,
      bodyLimitBytes: config.api.body_limit,
      ready: () => ready && [...hosts.values()].every((h) => h.info().state === "running"),
      modules: buildApiModules({
        hub,
        procs,
        health,
        balancer,
        scaler,
        tickets,
        hosts: () => [...hosts.values()],
        startedAt,
        configPath: opts.configPath,
        current: () => ({ config, raw, source: opts.configPath }),
        apply: (r) => apply(r, "PATCH /v1/config"),
        apiChecks,
        persistApiChecks: () => store.putKv("checks.api", Object.fromEntries(apiChecks)),
      }),
      open: [
        ...(config.telemetry.prometheus ? [{ path: "/metrics", app: metrics }] : []),
        { path: "/openapi.json", app: openApiRoutes() },
      ],
      onError: (err) => log.error("api handler failed", { error: err }),
    });
    server = Bun.serve({
      hostname: host,
      port,
      fetch: app.fetch,
      websocket,
      ...(config.api.tls ? { tls: { cert: Bun.file(config.api.tls.cert_file), key: Bun.file(config.api.tls.key_file) } } : {}),
    });
    log.info("admin API listening", { url: server.url.href });
  };

  const startDns = async () => {
    if (!config.dns.enabled) return;
    const { hostname: host, port } = splitListen(config.dns.listen);
    dns = await createDnsServer({
      udp: { hostname: host, port },
      tcp: { hostname: host, port },
      domain: config.dns.domain,
      ttl: Math.max(0, Math.round(config.dns.ttl / 1000)),
      view: {
        get version() {
          return catalog.version;
        },
        resolve(name, namespace) {
          const s = catalog.list({ namespace }).find((x) => x.name.toLowerCase() === name);
          return s ? { endpoints: s.endpoints.map((e) => ({ id: e.id, address: e.address, port: e.port, weight: e.draining ? 0 : e.weight, health: e.health })) } : undefined;
        },
      },
    });
    log.info("DNS listening", { udp: `${host}:${dns.udpPort}`, tcp: `${host}:${dns.tcpPort}`, domain: config.dns.domain });
  };

  const sup: Supervisor = {
    get config() {
      return config;
    },
    get apiUrl() {
      return server ? server.url.href.replace(/\/$/, "") : "";
    },
    async start() {
      if (config.api.tokens.length === 0) {
        const t = ensureAdminToken(config.agent.data_dir);
        adminToken = t.token;
        log.info(t.created ? "no API token configured: created one for local use" : "using the local admin token", { file: t.file });
      }
      syncConfigServices();
      restoreRegistrations();
      procs.syncServices();
      addHost("procs");
      addHost("health");
      const n = resolveCount(config.agent.balancer_workers, cores);
      for (let i = 0; i < n; i++) addHost("balancer", i);
      addHost("scaler");
      startApi();
      await startDns();
      await Promise.all([...hosts.values()].map((h) => h.start()));
      ready = true;
      deregisterTimer = setInterval(() => {
        const after = config.discovery.deregister_critical_after;
        if (after === undefined) return;
        for (const e of catalog.criticalSince(Date.now() - after)) {
          const s = catalog.get(e.namespace, e.name);
          if (s?.source !== "api") continue;
          catalog.removeEndpoint(e.namespace, e.name, e.id);
          publish({ type: "endpoint.deregistered", source: "supervisor", target: `${e.namespace}/${e.name}/${e.id}`, severity: "warning", message: `deregistered ${e.id} of ${e.namespace}/${e.name}: critical for longer than ${after} ms` });
        }
      }, 5000);
      catalog.onChange((c) => {
        const target = "endpoint" in c ? `${c.service.namespace}/${c.service.name}/${c.endpoint.id}` : `${c.service.namespace}/${c.service.name}`;
        publish({ type: c.kind, source: "catalog", target, severity: c.kind === "endpoint.health" && c.endpoint.health === "critical" ? "warning" : "debug", message: `${c.kind} ${target}${c.kind === "endpoint.health" ? `: ${c.from} -> ${c.endpoint.health}` : ""}` });
      });
      publish({ type: "agent.started", source: "supervisor", target: "agent", severity: "info", message: `agent ${VERSION} started with ${hosts.size} workers`, data: { workers: [...hosts.keys()] } });
    },
    async reload() {
      if (!opts.configPath) return { ok: true, reloaded: [] };
      const result = loadConfigFile(opts.configPath, opts.env);
      if (!result.ok) {
        publish({ type: "config.rejected", source: "supervisor", target: "config", severity: "error", message: `config reload rejected (${problemList(result.error.problems)}); the running config is unchanged`, data: { problems: result.error.problems } });
        return { ok: false, error: result.error };
      }
      const r = await apply(result.loaded.raw, opts.configPath);
      if (r.ok) {
        // Certificates are re-read on every reload even when their paths did not change (renewed in place):
        // new connections get the new certificate, open ones keep theirs.
        for (const b of config.balancers.filter((x) => x.tls)) {
          for (const h of hub.balancerHosts()) h.request({ t: "balancer.reload-tls", balancer: b.name }).catch((e) => log.warn("TLS reload failed", { balancer: b.name, error: e }));
        }
      }
      if (!r.ok) {
        publish({ type: "config.rejected", source: "supervisor", target: "config", severity: "error", message: `config reload rejected (${problemList(r.problems)}): ${r.message}`, data: { problems: r.problems } });
        return { ok: false, error: { problems: r.problems, message: r.message } };
      }
      return r;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      ready = false;
      // Stop taking work first, then let workers finish (procs stops its children), then persist.
      server?.stop(true);
      await dns?.stop();
      if (deregisterTimer) clearInterval(deregisterTimer);
      balancer.stop();
      // The procs worker must outlive every replica's stop timeout, or a replica that ignores SIGTERM would be
      // orphaned when the worker is terminated before it sends SIGKILL.
      await Promise.all([...hosts.values()].map((h) => h.stop(h.name === "procs" ? sup.stopBoundMs() : config.agent.shutdown_timeout)));
      publish({ type: "agent.stopped", source: "supervisor", target: "agent", severity: "info", message: "agent stopped" });
      await telemetry.shutdown().catch(() => {});
      clearInterval(flushTimer);
      store.close();
    },
    workers: () => [...hosts.values()].map((h) => h.info()),
    stopBoundMs: () => Math.max(config.agent.shutdown_timeout, ...config.apps.map((a) => a.stop.timeout + 2000)),
  };
  return sup;
}
