// Supervisor side of the health worker: computes the desired checks (app checks per app endpoint + standalone
// checks), and turns transitions into events and metrics. An endpoint's health in the catalog is derived from its
// checks and their statuses, recomputed whenever either changes (a reload that drops a check recomputes too).
//
// One owner per fact: which app endpoints exist (and on which port) is the catalog's, so an app's checks are derived
// from its catalog endpoints and recomputed on every endpoint change there: one check set per replica's endpoint, one
// for the endpoint replicas sharing a port. A replica of an app without a port is no endpoint, so the catalog has no
// record of it: those replicas (and only those) come from the procs link.
import { replicaHost } from "../config/apps.ts";
import { appCheckSpec, standaloneCheckSpec } from "../config/checks.ts";
import type { StandaloneCheckConfig } from "../config/schema.ts";
import type { CheckSpec, CheckState, FromHealth, Status, ToHealth } from "../protocol/health.ts";
import type { AppConfig, Config } from "../config/schema.ts";
import type { Catalog, EndpointHealth } from "../state/catalog.ts";
import type { EventInput } from "../state/event-bus.ts";
import type { Telemetry } from "../telemetry/metrics.ts";
import { APP_NAMESPACE, type EndpointRef, endpointOf } from "./hub.ts";
import type { ReplicaView } from "./procs-link.ts";

interface CheckMeta {
  readonly spec: CheckSpec;
  /** The catalog endpoint this check decides for (app replicas). */
  readonly endpoint?: EndpointRef;
  readonly app?: string;
}

const RANK: Record<Status, number> = { passing: 0, warning: 1, critical: 2 };

/** An app replica waits for its checks when its readiness is "check": critical until one has passed. */
export const gatedOnChecks = (app: Pick<AppConfig, "readiness" | "checks">) => app.readiness.kind === "check" && app.checks.length > 0;

/**
 * An endpoint's health from its checks: the worst status among those that have run (Consul's rule); with none run
 * yet, critical when the endpoint waits for its checks, else passing (an endpoint with no checks is passing).
 */
export function deriveHealth(statuses: ReadonlyArray<{ readonly status: Status; readonly output: string }>, waiting: boolean): { health: EndpointHealth; output: string } {
  let worst: { status: Status; output: string } | undefined;
  for (const s of statuses) if (worst === undefined || RANK[s.status] > RANK[worst.status]) worst = s;
  if (worst) return { health: worst.status, output: worst.output };
  return waiting ? { health: "critical", output: "waiting for the first check" } : { health: "passing", output: "" };
}

const refKey = (e: EndpointRef) => `${e.namespace}/${e.service}/${e.id}`;

/** What the health link needs from the supervisor. */
export interface HealthLinkDeps {
  config(): Config;
  readonly catalog: Pick<Catalog, "setHealth" | "get" | "onChange">;
  publish(e: EventInput): void;
  readonly telemetry: Pick<Telemetry, "forget" | "healthResult">;
  /** To the health worker (dropped while it is not running). */
  send(msg: ToHealth): void;
}

/**
 * `portless`: the ready replicas of apps without a port (they have checks but no endpoint); `extraChecks`: standalone
 * checks created through the API.
 */
export function createHealthLink(hub: HealthLinkDeps, portless: () => ReplicaView[], extraChecks: () => Iterable<StandaloneCheckConfig> = () => []) {
  let checks = new Map<string, CheckMeta>();
  const status = new Map<string, { status: Status; output: string; flapping: boolean; since: number }>();
  let latest: readonly CheckState[] = [];
  let scheduled = false;
  const send = hub.send;

  const compute = (): Map<string, CheckMeta> => {
    const cfg = hub.config();
    const out = new Map<string, CheckMeta>();
    for (const c of cfg.checks) out.set(c.name, { spec: standaloneCheckSpec(c) });
    for (const c of extraChecks()) if (!out.has(c.name)) out.set(c.name, { spec: standaloneCheckSpec(c) });
    for (const app of cfg.apps) {
      if (app.checks.length === 0 || "none" in app.port) continue;
      const shared = "shared" in app.port;
      for (const ep of hub.catalog.get(APP_NAMESPACE, app.name)?.endpoints ?? []) {
        const replica = shared ? "shared" : Number(ep.metadata.replica);
        // Only endpoints the one id rule gives this app: a registration under the app's name is no replica, and another
        // node's replica (id@node) is that node's to check.
        const endpoint = shared ? endpointOf(app, 0) : Number.isInteger(replica) ? endpointOf(app, replica as number) : undefined;
        if (!endpoint || endpoint.id !== ep.id) continue;
        for (const c of app.checks) {
          const spec = appCheckSpec(app.name, replica, ep.port, c, ep.address);
          out.set(spec.id, { spec, app: app.name, endpoint });
        }
      }
    }
    for (const r of portless()) {
      const app = cfg.apps.find((a) => a.name === r.app);
      if (!app || !("none" in app.port)) continue;
      for (const c of app.checks) {
        const spec = appCheckSpec(r.app, r.id, null, c, replicaHost(cfg));
        out.set(spec.id, { spec, app: r.app });
      }
    }
    return out;
  };

  /** The derived health of one endpoint from the current checks and statuses. */
  const healthOf = (endpoint: EndpointRef) => {
    const statuses: Array<{ status: Status; output: string }> = [];
    const key = refKey(endpoint);
    for (const [id, meta] of checks) {
      if (!meta.endpoint || refKey(meta.endpoint) !== key) continue;
      const s = status.get(id);
      if (s) statuses.push(s);
    }
    const app = hub.config().apps.find((a) => a.name === endpoint.service);
    return deriveHealth(statuses, app !== undefined && gatedOnChecks(app));
  };
  const refresh = (endpoint: EndpointRef) => {
    const d = healthOf(endpoint);
    hub.catalog.setHealth(endpoint.namespace, endpoint.service, endpoint.id, d.health, d.output);
  };

  /** Recomputes the desired checks from replicas and config, and the health of every endpoint they touch(ed). */
  const recompute = () => {
    const before = checks;
    checks = compute();
    for (const id of [...status.keys()]) {
      if (!checks.has(id)) {
        status.delete(id);
        hub.telemetry.forget("check", id);
      }
    }
    // Every endpoint whose set of checks may have changed gets its health recomputed, including one left with none.
    const touched = new Map<string, EndpointRef>();
    for (const m of [...before.values(), ...checks.values()]) if (m.endpoint) touched.set(refKey(m.endpoint), m.endpoint);
    for (const e of touched.values()) refresh(e);
  };
  const push = () => {
    scheduled = false;
    recompute();
    send({ t: "health.set", checks: [...checks.values()].map((m) => m.spec) });
  };
  /** Coalesces bursts of changes (a scale-up adds many endpoints) into one push. */
  const changed = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      if (scheduled) push();
    });
  };
  // An app endpoint added, removed or moved to another port changes the checks derived from it. Health changes are
  // this link's own writes, and services of other sources carry no app checks.
  hub.catalog.onChange((c) => {
    if (c.service.source === "app" && (c.kind === "endpoint.added" || c.kind === "endpoint.removed" || c.kind === "endpoint.updated")) changed();
  });

  return {
    state: () => {
      recompute();
      return { checks: [...checks.values()].map((m) => m.spec) };
    },
    /** The checks' inputs changed (config reload, a port-less app's replicas): recompute and push, coalesced. */
    changed,
    /** Pushes a pending change now, so a caller that just added or removed a check sees it in checks() at once. */
    flush() {
      if (scheduled) push();
    },
    handle(msg: FromHealth): boolean {
      switch (msg.t) {
        case "health.changed": {
          const meta = checks.get(msg.checkId);
          status.set(msg.checkId, { status: msg.to, output: msg.output, flapping: msg.flapping, since: Date.now() });
          hub.publish({
            type: "health.changed",
            source: "health",
            target: msg.checkId,
            severity: msg.to === "critical" ? "error" : msg.to === "warning" ? "warning" : "info",
            message: `check ${msg.checkId} ${msg.from ?? "new"} -> ${msg.to}${msg.flapping ? " (flapping)" : ""}: ${msg.output.slice(0, 200)}`,
            data: { from: msg.from, to: msg.to, flapping: msg.flapping, latencyMs: msg.latencyMs, ...(meta?.app ? { app: meta.app } : {}) },
          });
          if (meta?.endpoint) refresh(meta.endpoint);
          return true;
        }
        case "health.result": {
          const meta = checks.get(msg.checkId);
          hub.telemetry.healthResult(msg.checkId, meta?.spec.target ?? "", msg.status, msg.latencyMs);
          return true;
        }
        case "health.summary":
          latest = msg.states;
          return true;
        case "health.invalid":
          hub.publish({ type: "health.invalid", source: "health", target: msg.checkId, severity: "error", message: `check ${msg.checkId} rejected: ${msg.errors.map((e) => `${e.field}: ${e.message}`).join("; ")}` });
          return true;
        default:
          return false;
      }
    },
    checks: () => checks,
    /** The health an endpoint has by its checks now (what a newly added endpoint starts with). */
    healthOf,
    statusOf: (id: string) => status.get(id),
    summaries: () => latest,
  };
}

export type HealthLink = ReturnType<typeof createHealthLink>;
