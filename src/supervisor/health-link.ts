// Supervisor side of the health worker: computes the desired checks (app checks per ready replica + standalone
// checks), and turns transitions into catalog health, events and metrics.
import { appCheckSpec, standaloneCheckSpec } from "../config/checks.ts";
import type { StandaloneCheckConfig } from "../config/schema.ts";
import type { CheckSpec, CheckState, FromHealth, Status, ToHealth } from "../protocol/health.ts";
import type { Config } from "../config/schema.ts";
import type { Catalog } from "../state/catalog.ts";
import type { EventInput } from "../state/event-bus.ts";
import type { Telemetry } from "../telemetry/metrics.ts";
import { APP_NAMESPACE, replicaEndpointId } from "./hub.ts";
import type { ReplicaView } from "./procs-link.ts";

interface CheckMeta {
  readonly spec: CheckSpec;
  /** The catalog endpoint this check decides for (app replicas). */
  readonly endpoint?: { namespace: string; service: string; id: string };
  readonly app?: string;
}

const RANK: Record<Status, number> = { passing: 0, warning: 1, critical: 2 };

/** What the health link needs from the supervisor. */
export interface HealthLinkDeps {
  config(): Config;
  readonly catalog: Pick<Catalog, "setHealth">;
  publish(e: EventInput): void;
  readonly telemetry: Pick<Telemetry, "forget" | "healthResult">;
  /** To the health worker (dropped while it is not running). */
  send(msg: ToHealth): void;
}

export function createHealthLink(hub: HealthLinkDeps, replicas: () => ReplicaView[], extraChecks: () => Iterable<StandaloneCheckConfig> = () => []) {
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
    for (const r of replicas()) {
      const app = cfg.apps.find((a) => a.name === r.app);
      if (!app) continue;
      const shared = "shared" in app.port;
      for (const c of app.checks) {
        const spec = appCheckSpec(r.app, r.id, r.port, c);
        out.set(spec.id, {
          spec,
          app: r.app,
          ...(r.port !== null && !("none" in app.port) ? { endpoint: { namespace: APP_NAMESPACE, service: r.app, id: shared ? `${r.app}-shared` : replicaEndpointId(r.app, r.id) } } : {}),
        });
      }
    }
    return out;
  };

  /** An endpoint's health is the worst of its checks' (Consul's rule); checks not yet run do not count. */
  const applyEndpointHealth = (endpoint: { namespace: string; service: string; id: string }) => {
    let worst: Status | undefined;
    let output = "";
    for (const [id, meta] of checks) {
      if (meta.endpoint?.id !== endpoint.id || meta.endpoint.service !== endpoint.service) continue;
      const s = status.get(id);
      if (!s) continue;
      if (worst === undefined || RANK[s.status] > RANK[worst]) {
        worst = s.status;
        output = s.output;
      }
    }
    if (worst !== undefined) hub.catalog.setHealth(endpoint.namespace, endpoint.service, endpoint.id, worst, output);
  };

  const push = () => {
    scheduled = false;
    checks = compute();
    for (const id of [...status.keys()]) {
      if (!checks.has(id)) {
        status.delete(id);
        hub.telemetry.forget("check", id);
      }
    }
    send({ t: "health.set", checks: [...checks.values()].map((m) => m.spec) });
  };

  return {
    state: () => {
      checks = compute();
      return { checks: [...checks.values()].map((m) => m.spec) };
    },
    /** Coalesces bursts of replica changes into one push. */
    changed() {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        if (scheduled) push();
      });
    },
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
          if (meta?.endpoint) applyEndpointHealth(meta.endpoint);
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
    statusOf: (id: string) => status.get(id),
    summaries: () => latest,
  };
}

export type HealthLink = ReturnType<typeof createHealthLink>;
