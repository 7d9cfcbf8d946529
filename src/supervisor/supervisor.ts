// The supervisor (main thread): owns config, state and the event bus, runs the workers, routes their
// messages, serves the admin API, and shuts everything down in order.
//
//   created --start()--> running --stop()--> stopped      (stop is idempotent; SIGHUP -> reload() while running)
import type { Server } from "bun";
import { hostname } from "node:os";
import { agentRoutes } from "../api/agent.ts";
import { createApi, type ApiModule } from "../api/app.ts";
import { chainAuthenticators, createTokenAuthenticator, type TokenEntry } from "../api/auth.ts";
import { type ConfigError, loadConfigFile } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { resolveCount } from "../config/semantics.ts";
import { splitListen } from "../config/units.ts";
import type { CommonFromWorker } from "../protocol/common.ts";
import { createEventBus, type EventBus, type EventInput } from "../state/event-bus.ts";
import { openStore, type Store } from "../state/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import { VERSION } from "../version.ts";
import { ensureAdminToken } from "./admin-token.ts";
import { type WorkerKind, workerSpecifier } from "./entrypoints.ts";
import { createWorkerHost, type WorkerHost, type WorkerInfo } from "./worker-host.ts";

export interface SupervisorOptions {
  config: Config;
  configPath?: string;
  logger: Logger;
  /** Extra env for resolving the config on reload. */
  env?: Record<string, string | undefined>;
}

export interface Supervisor {
  readonly config: Config;
  readonly events: EventBus;
  readonly store: Store;
  readonly apiUrl: string;
  start(): Promise<void>;
  reload(): Promise<{ ok: true } | { ok: false; error: ConfigError }>;
  stop(): Promise<void>;
  workers(): WorkerInfo[];
}

export function createSupervisor(opts: SupervisorOptions): Supervisor {
  let config = opts.config;
  const log = opts.logger;
  const startedAt = Date.now();
  const store = openStore(config.agent.data_dir);
  const events = createEventBus({ startSeq: store.lastEventSeq() });
  events.subscribe((e) => store.appendEvent(e));
  const flushTimer = setInterval(() => store.flush(), 250);
  const hosts = new Map<string, WorkerHost<unknown>>();
  const cores = navigator.hardwareConcurrency || 1;
  let server: Server<undefined> | undefined;
  let ready = false;
  let stopped = false;
  let adminToken: string | undefined;

  const publish = (e: EventInput) => {
    const ev = events.publish(e);
    log.log(e.severity === "critical" ? "error" : e.severity === "warning" ? "warn" : e.severity === "debug" ? "debug" : e.severity, e.message, {
      event: e.type,
      target: e.target,
      seq: ev.seq,
    });
  };

  const workerState = (kind: WorkerKind, index: number) => ({ kind, index, config });

  const onWorkerMessage = (name: string) => (msg: CommonFromWorker | { t: string }) => {
    switch (msg.t) {
      case "log": {
        const m = msg as Extract<CommonFromWorker, { t: "log" }>;
        log.log(m.level, m.msg, { worker: name, ...m.fields });
        return;
      }
      default:
        log.debug("unrouted worker message", { worker: name, type: msg.t });
    }
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

  const tokens = (): TokenEntry[] => [
    ...config.api.tokens.map((t) => ({ name: t.name, token: t.token, role: t.role })),
    ...(adminToken ? [{ name: "local-admin", token: adminToken, role: "admin" as const }] : []),
  ];

  const apiModules = (): ApiModule[] => [
    {
      path: "/agent",
      app: agentRoutes({
        view: () => ({
          name: config.agent.name ?? hostname(),
          version: VERSION,
          pid: process.pid,
          startedAt,
          configPath: opts.configPath,
          workers: [...hosts.values()].map((h) => h.info()),
        }),
        crashWorker: config.agent.allow_fault_injection
          ? (name) => {
              const h = hosts.get(name);
              if (!h) return false;
              h.send({ t: "crash", reason: "requested through the API" });
              return true;
            }
          : undefined,
        recentLogs: (n) => log.tail(n),
      }),
    },
  ];

  const startApi = () => {
    const { hostname: host, port } = splitListen(config.api.listen);
    const app = createApi({
      auth: chainAuthenticators([createTokenAuthenticator(tokens)]),
      bodyLimitBytes: config.api.body_limit,
      ready: () => ready && [...hosts.values()].every((h) => h.info().state === "running"),
      modules: apiModules(),
      onError: (err) => log.error("api handler failed", { error: err }),
    });
    server = Bun.serve({
      hostname: host,
      port,
      fetch: app.fetch,
      ...(config.api.tls ? { tls: { cert: Bun.file(config.api.tls.cert_file), key: Bun.file(config.api.tls.key_file) } } : {}),
    });
    log.info("admin API listening", { url: server.url.href });
  };

  const sup: Supervisor = {
    get config() {
      return config;
    },
    events,
    store,
    get apiUrl() {
      return server ? server.url.href.replace(/\/$/, "") : "";
    },
    async start() {
      if (config.api.tokens.length === 0) {
        const t = ensureAdminToken(config.agent.data_dir);
        adminToken = t.token;
        log.info(t.created ? "no API token configured: created one for local use" : "using the local admin token", { file: t.file });
      }
      addHost("procs");
      addHost("health");
      const balancers = resolveCount(config.agent.balancer_workers, cores);
      for (let i = 0; i < balancers; i++) addHost("balancer", i);
      addHost("scaler");
      startApi();
      await Promise.all([...hosts.values()].map((h) => h.start()));
      ready = true;
      publish({ type: "agent.started", source: "supervisor", target: "agent", severity: "info", message: `agent ${VERSION} started with ${hosts.size} workers`, data: { workers: [...hosts.keys()] } });
    },
    async reload() {
      if (!opts.configPath) return { ok: true };
      const result = loadConfigFile(opts.configPath, opts.env);
      if (!result.ok) {
        publish({ type: "config.rejected", source: "supervisor", target: "config", severity: "error", message: `config reload rejected; the running config is unchanged`, data: { problems: result.error.problems } });
        return { ok: false, error: result.error };
      }
      config = result.loaded.config;
      log.setLevel(config.agent.log_level);
      for (const [name, h] of hosts) {
        const kind = (name.startsWith("balancer") ? "balancer" : name) as WorkerKind;
        h.send({ t: "init", state: workerState(kind, Number(name.split("-")[1] ?? 0)) });
      }
      publish({ type: "config.reloaded", source: "supervisor", target: "config", severity: "info", message: "config reloaded" });
      return { ok: true };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      ready = false;
      // Stop taking work first, then let workers finish (procs stops its children), then persist.
      server?.stop(true);
      await Promise.all([...hosts.values()].map((h) => h.stop(config.agent.shutdown_timeout)));
      publish({ type: "agent.stopped", source: "supervisor", target: "agent", severity: "info", message: "agent stopped" });
      clearInterval(flushTimer);
      store.close();
    },
    workers: () => [...hosts.values()].map((h) => h.info()),
  };
  return sup;
}
