// Supervisor side of the procs worker: replica events become catalog endpoints, events, stored records and metrics;
// drain hooks are carried out across the balancers.
import { Reason } from "../core/supervision/restart-policy.ts";
import { replicaHost, toAppSpec } from "../config/apps.ts";
import { selfCommand } from "./entrypoints.ts";
import { type FromProcs, isStopReason, type LogLine, type ProcsEvent, type ReplicaSnapshot, type ReplicaStats, type ToProcs } from "../protocol/procs.ts";
import type { Severity } from "../state/event-bus.ts";
import type { AppConfig, Config } from "../config/schema.ts";
import type { Catalog } from "../state/catalog.ts";
import type { EventInput } from "../state/event-bus.ts";
import { type ScalerDecisionRecord, createIntentStore } from "../state/intent.ts";
import { StoreError } from "../state/store-fault.ts";
import type { Store } from "../state/store.ts";
import type { Telemetry } from "../telemetry/metrics.ts";
import { APP_NAMESPACE, type EndpointRef, endpointOf, replicaEndpointId } from "./hub.ts";
import type { EndpointHealth } from "../state/catalog.ts";

export interface ReplicaView {
  readonly app: string;
  readonly id: number;
  readonly port: number | null;
  readonly ready: boolean;
}

const SEVERITY: Partial<Record<ProcsEvent["type"], Severity>> = {
  "spawn-failed": "error",
  "not-ready": "warning",
  exited: "warning",
  "crash-loop": "critical",
  "replica-crash-loop": "error",
  "adopt-rejected": "warning",
  error: "error",
  starting: "debug",
  spawned: "debug",
};

function describe(e: ProcsEvent): string {
  const who = "id" in e ? `${e.app}-${e.id}` : e.app;
  switch (e.type) {
    case "starting": return `${who} starting (attempt ${e.attempt}${e.port ? `, port ${e.port}` : ""})`;
    case "spawned": return `${who} spawned as pid ${e.pid}`;
    case "spawn-failed": return `${who} could not start: ${e.message}`;
    case "ready": return `${who} ready after ${Math.round(e.afterMs)} ms (pid ${e.pid}${e.port ? `, port ${e.port}` : ""})`;
    case "not-ready": return `${who} not ready: ${e.message}`;
    case "exited": return `${who} exited (${e.signal ? `signal ${e.signal}` : `code ${e.code}`}) after ${Math.round(e.upMs)} ms: ${e.reason}`;
    case "restarting": return `${who} restarting in ${Math.round(e.delayMs)} ms: ${e.reason}`;
    case "stopping": return `${who} stopping with ${e.signal}: ${e.reason}`;
    case "stopped": return `${who} stopped${e.forced ? " (killed after the stop timeout)" : ""}: ${e.reason}`;
    case "adopted": return `${who} adopted (pid ${e.pid} was still running)`;
    case "adopt-rejected": return `${who} not adopted (pid ${e.pid}: ${e.reason})${e.killed ? "; stopped it" : ""}`;
    case "replica-crash-loop": return `${who} is in a crash loop (${e.restarts} unstable restarts in ${Math.round(e.windowMs / 1000)} s); its restarts paused for ${Math.round(e.cooldownMs / 1000)} s`;
    case "crash-loop": return `${who} is in a crash loop: ${e.looping} of ${e.slots} replicas are looping`;
    case "crash-loop-cleared": return `${who} crash loop cleared: ${e.reason}`;
    case "rolling-restart": return `${who} rolling restart ${e.status} (${e.replaced} replaced): ${e.message}`;
    case "error": return `${who}: ${e.message}`;
  }
}

/** What the procs link needs from the supervisor. */
export interface ProcsLinkDeps {
  config(): Config;
  readonly cores: number;
  readonly catalog: Pick<Catalog, "list" | "upsertService" | "removeService" | "upsertEndpoint" | "removeEndpoint">;
  publish(e: EventInput): void;
  readonly store: Pick<Store, "putReplica" | "deleteReplica" | "replicas" | "getKv" | "putKv">;
  readonly telemetry: Pick<Telemetry, "event" | "restart" | "plannedStop" | "forget" | "procStats">;
  /** To the procs worker (dropped while it is not running). */
  send(msg: ToProcs): void;
  /** Stop routing new traffic to an endpoint and wait (bounded) until its in-flight requests finish. */
  drainEndpoint(namespace: string, service: string, endpointId: string): Promise<void>;
  /** Health checks need recomputing (replicas changed). */
  healthTargetsChanged(): void;
  /** The health an endpoint has by its checks (derived by the health link); a new endpoint starts with it. */
  endpointHealth(e: EndpointRef): { health: EndpointHealth; output: string };
  /** Per-replica readiness changed: the scaler needs the new replica set. */
  replicasChanged(app: string): void;
  /** The app as its target revision runs it (deploy-runner.ts); without it the config's fields, unnumbered. */
  revisionOf?(app: AppConfig): { app: AppConfig; revision?: number; surge?: number };
  /** A cluster app's count on this node: its slots in etcd (placement-link.ts); undefined for other apps. */
  clusterSlots?(app: string): number | undefined;
}

export function createProcsLink(hub: ProcsLinkDeps) {
  const replicas = new Map<string, { app: string; id: number; port: number | null; pid: number | null; startTime: number | null; ready: boolean; revision: number }>();
  const logFollowers = new Map<string, Set<(l: LogLine) => void>>();
  /** Run-time desired state (counts set by the API or the autoscaler, stops): persisted, so it survives a crash and config reloads. */
  const intents = createIntentStore(hub.store);
  const send = hub.send;
  const self = selfCommand();

  const appConfig = (name: string) => hub.config().apps.find((a) => a.name === name);
  /** A replica record that cannot be written (disk full, store gone) is skipped: the store reported its fault once. */
  const persist = (write: () => void) => {
    try {
      write();
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
    }
  };

  /** The spec procs runs: the config's, with the run-time count (within bounds), or none at all while stopped. */
  const specFor = (a: AppConfig, cfg: Config) => {
    const i = intents.get(a.name);
    const r = hub.revisionOf?.(a) ?? { app: a };
    const spec = { ...toAppSpec(r.app, cfg, { cores: hub.cores, self }, i.replicas), ...(r.revision !== undefined ? { revision: r.revision } : {}), ...(r.surge ? { surge: r.surge } : {}) };
    // A cluster app runs exactly the slots the leader gave this node (operator counts do not apply to it).
    const slots = hub.clusterSlots?.(a.name);
    if (slots !== undefined) return { ...spec, replicas: i.stopped ? 0 : slots };
    return i.stopped ? { ...spec, replicas: 0 } : spec;
  };

  /** App services (one per app with a port) exist as soon as the config names the app. */
  const syncServices = () => {
    const apps = hub.config().apps;
    const names = new Set(apps.map((a) => a.name));
    for (const s of hub.catalog.list({ namespace: APP_NAMESPACE })) if (s.source === "app" && !names.has(s.name)) hub.catalog.removeService(APP_NAMESPACE, s.name);
    for (const a of apps) {
      if ("none" in a.port) continue;
      hub.catalog.upsertService({ name: a.name, namespace: APP_NAMESPACE, labels: { app: a.name }, annotations: { command: a.command } }, "app");
    }
  };

  const addEndpoint = (app: string, id: number, port: number | null) => {
    const cfg = appConfig(app);
    const ref = cfg && port !== null ? endpointOf(cfg, id) : undefined;
    if (!cfg || !ref || port === null) return;
    hub.catalog.upsertEndpoint(ref.namespace, ref.service, {
      id: ref.id,
      address: replicaHost(hub.config()),
      port,
      protocol: cfg.checks.some((c) => c.kind === "grpc") ? "grpc" : "http",
      weight: 1,
      metadata: { app, replica: String(id) },
      health: hub.endpointHealth(ref).health,
    });
  };

  const removeEndpoint = (app: string, id: number) => {
    const cfg = appConfig(app);
    // An app no longer in the config has lost its service already; a replica of one is only found by its id rule.
    const ref = cfg ? endpointOf(cfg, id) : { namespace: APP_NAMESPACE, service: app, id: replicaEndpointId(app, id) };
    if (!ref) return;
    if (cfg && "shared" in cfg.port && [...replicas.values()].some((r) => r.app === app && r.ready && r.id !== id)) return;
    hub.catalog.removeEndpoint(ref.namespace, ref.service, ref.id);
  };

  const onEvent = (e: ProcsEvent) => {
    // An exit we asked for (stop, scale-down, rolling restart, shutdown: all stop-requested) is routine; any other
    // exit is worth a warning.
    const requested = e.type === "exited" && e.reason === Reason.STOP_REQUESTED;
    hub.publish({
      type: `proc.${e.type}`,
      source: "procs",
      target: "id" in e ? `${e.app}-${e.id}` : e.app,
      severity: requested ? "info" : (SEVERITY[e.type] ?? "info"),
      message: describe(e),
      data: e as unknown as Record<string, unknown>,
    });
    hub.telemetry.event(`proc.${e.type}`);
    // The kernel's OOM kill is counted apart from other exits: an operator alerts on it, not on every restart.
    if (e.type === "exited" && e.reason === Reason.OOM_KILLED) hub.telemetry.event("proc.oom-killed");
    if (!("id" in e)) return;
    const key = `${e.app}-${e.id}`;
    const r = replicas.get(key) ?? { app: e.app, id: e.id, port: null, pid: null, startTime: null, ready: false, revision: 0 };
    replicas.set(key, r);
    switch (e.type) {
      case "starting":
        r.port = e.port;
        r.ready = false;
        r.revision = e.revision;
        break;
      case "spawned":
        r.pid = e.pid;
        r.startTime = e.startTime;
        if (e.startTime !== null) persist(() => hub.store.putReplica({ app: e.app, id: String(e.id), pid: e.pid, startTime: e.startTime!, port: r.port ?? 0 }));
        break;
      case "ready":
      case "adopted":
        if (e.type === "adopted") r.revision = e.revision;
        r.ready = true;
        r.port = e.port;
        r.pid = e.pid;
        addEndpoint(e.app, e.id, e.port);
        hub.healthTargetsChanged();
        hub.replicasChanged(e.app);
        break;
      case "exited":
      case "stopping":
      case "not-ready":
      case "spawn-failed":
        if (r.ready || e.type === "exited") {
          r.ready = false;
          removeEndpoint(e.app, e.id);
          hub.healthTargetsChanged();
          hub.replicasChanged(e.app);
        }
        // Planned stops are counted at "stopping" (with why); the agent's kills for a limit are followed by a
        // restart, counted at "restarting".
        if (e.type === "stopping" && isStopReason(e.reason)) hub.telemetry.plannedStop(e.app, e.reason);
        break;
      case "restarting":
        hub.telemetry.restart(e.app, e.reason);
        break;
      case "stopped":
        r.ready = false;
        removeEndpoint(e.app, e.id);
        replicas.delete(key);
        persist(() => hub.store.deleteReplica(e.app, String(e.id)));
        hub.telemetry.forget("replica", { app: e.app, replica: key });
        hub.healthTargetsChanged();
        hub.replicasChanged(e.app);
        break;
      case "adopt-rejected":
        replicas.delete(key);
        persist(() => hub.store.deleteReplica(e.app, String(e.id)));
        break;
    }
  };

  const statsListeners = new Set<(b: readonly ReplicaStats[]) => void>();
  const onStats = (batch: readonly ReplicaStats[]) => {
    for (const s of batch) {
      const replica = `${s.app}-${s.id}`;
      // A batch read before a replica stopped can arrive after its "stopped": its series were forgotten then and
      // must not come back (they would be exported until they expire, for an app a reload removed too).
      const known = replicas.get(replica);
      if (!known) continue;
      hub.telemetry.procStats({ app: s.app, replica, ...(known.revision ? { revision: known.revision } : {}), pid: s.pid, cpuPercent: s.cpuPercent, rssBytes: s.rssBytes });
    }
    statsListeners.forEach((fn) => fn(batch));
  };

  const onHook = async (hook: number, kind: "drain" | "ready", replica: ReplicaSnapshot) => {
    let error: string | undefined;
    try {
      if (kind === "drain") {
        const cfg = appConfig(replica.app);
        // A shared-port endpoint stands for every replica: draining it would stop traffic to the ones staying.
        const ref = cfg && !("shared" in cfg.port) ? endpointOf(cfg, replica.id) : undefined;
        if (ref) await hub.drainEndpoint(ref.namespace, ref.service, ref.id);
      }
      // "ready": the replica's ready event, which comes first on the same channel, has already added its endpoint.
    } catch (e) {
      error = (e as Error).message;
    }
    send({ t: "procs.hook-done", hook, ...(error ? { error } : {}) });
  };

  return {
    state: () => {
      const cfg = hub.config();
      const records = hub.store.replicas();
      return {
        apps: cfg.apps.map((a) => specFor(a, cfg)),
        adopt: records.map((r) => ({ app: r.app, id: Number(r.id), pid: r.pid, startTime: r.startTime, port: r.port || null })),
      };
    },
    handle(msg: FromProcs) {
      switch (msg.t) {
        case "procs.event":
          onEvent(msg.event);
          return true;
        case "procs.stats":
          onStats(msg.batch);
          return true;
        case "procs.log":
          logFollowers.get(msg.line.app)?.forEach((fn) => fn(msg.line));
          return true;
        case "procs.hook":
          void onHook(msg.hook, msg.kind, msg.replica);
          return true;
        default:
          return false;
      }
    },
    /** Re-applies the config's apps (after reload); replica counts set at run time are kept within new bounds. */
    apply() {
      syncServices();
      const cfg = hub.config();
      send({ t: "procs.apply", apps: cfg.apps.map((a) => specFor(a, cfg)) });
    },
    syncServices,
    intents,
    /** A replica count set at run time (API or autoscaler): persisted before procs is told (throws if it cannot be). */
    setDesired(app: string, n: number, by: "operator" | "scaler" = "operator", decision?: ScalerDecisionRecord) {
      intents.update(app, (i) => ({ ...i, replicas: n, setBy: by, ...(decision ? { lastDecision: decision } : {}) }));
    },
    /** The count set at run time (0 while stopped), or undefined when the config decides. */
    desiredOf: (app: string) => {
      const i = intents.get(app);
      return i.stopped ? 0 : i.replicas;
    },
    /** The revision each known replica of the app runs (as its last start or adoption said). */
    replicaRevisions(app: string): Array<{ id: number; revision: number }> {
      return [...replicas.values()].filter((r) => r.app === app).map((r) => ({ id: r.id, revision: r.revision }));
    },
    readyReplicas(app?: string): ReplicaView[] {
      return [...replicas.values()].filter((r) => r.ready && (app === undefined || r.app === app)).map((r) => ({ app: r.app, id: r.id, port: r.port, ready: r.ready }));
    },
    followLogs(app: string, fn: (l: LogLine) => void): () => void {
      let set = logFollowers.get(app);
      if (!set) {
        set = new Set();
        logFollowers.set(app, set);
        send({ t: "procs.follow", app, on: true });
      }
      set.add(fn);
      return () => {
        set!.delete(fn);
        if (set!.size === 0) {
          logFollowers.delete(app);
          send({ t: "procs.follow", app, on: false });
        }
      };
    },
    onStats(fn: (b: readonly ReplicaStats[]) => void) {
      statsListeners.add(fn);
      return () => statsListeners.delete(fn);
    },
  };
}

export type ProcsLink = ReturnType<typeof createProcsLink>;
