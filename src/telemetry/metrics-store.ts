// Per-entity cumulative metric state (endpoints, replicas, apps, checks) that can be forgotten or expire.
//
// Why not OTel instruments: the SDK keeps every attribute set a cumulative reader has seen for the life of
// the MeterProvider (TemporalMetricProcessor merges the last report into the next one), so a gone replica
// would be exported forever. Here each entity is one object; dropping it drops all its series at once.
// Ingest is O(fields + buckets): one Map lookup per call, then plain additions.
import { addBuckets, type BucketHistogram, createBucketHistogram, observe, sameBounds, validBounds } from "./metrics-histogram.ts";
import { ATTR_NETWORK_TRANSPORT, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_URL_SCHEME } from "@opentelemetry/semantic-conventions";
import { PLANNED_STOP_REASONS, RESTART_REASONS, SCALING_ACTIONS } from "./metrics-names.ts";
import type { Reason } from "../core/supervision/restart-policy.ts";
import type { StopReason } from "../protocol/procs.ts";
import { HEALTH_STATUSES, type HealthStatus, type ProcStats, type ProxyStats, STATUS_CLASSES } from "./metrics-input.ts";

export type { HealthStatus, ProcStats, ProxyStats, StatusClass } from "./metrics-input.ts";

export type EntityKind = "balancer" | "endpoint" | "app" | "replica" | "check" | "target";

export type Attrs = Readonly<Record<string, string>>;

/** A cumulative number with its own attribute set and start time (ms since epoch). */
export interface Cell {
  readonly attrs: Attrs;
  readonly startMs: number;
  value: number;
}

export interface EndpointEntity {
  readonly attrs: Attrs;
  readonly protocol: ProxyStats["protocol"];
  readonly startMs: number;
  seenMs: number;
  requests: number;
  errors: number;
  retries: number;
  ejections: number;
  picks: number;
  active: number;
  readonly responses: Cell[];
  readonly bytes: { readonly in: Cell; readonly out: Cell };
  latency: BucketHistogram | undefined;
  latencyStartMs: number;
}

export interface ReplicaEntity {
  readonly attrs: Attrs;
  seenMs: number;
  cpu: number;
  rss: number;
}

export interface AppEntity {
  readonly attrs: Attrs;
  readonly startMs: number;
  seenMs: number;
  desired: number | undefined;
  ready: number | undefined;
  scalingDesired: number | undefined;
  readonly restarts: Map<string, Cell>;
  readonly plannedStops: Map<string, Cell>;
  readonly decisions: Map<string, Cell>;
}

export interface CheckEntity {
  readonly attrs: Attrs;
  readonly startMs: number;
  seenMs: number;
  status: number;
  readonly results: Cell[];
  readonly duration: BucketHistogram;
}

/** Seconds; covers fast TCP connects through slow command checks. */
export const HEALTH_DURATION_BOUNDS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Restart reasons and scaling actions come from code constants; this caps a misbehaving caller. */
const MAX_CELLS_PER_ENTITY = 32;

export interface MetricStoreOptions {
  /** Wall-clock milliseconds (exported timestamps). */
  readonly now: () => number;
  /** Drop an entity not reported for this long; 0 keeps entities until forget(). */
  readonly expireAfterMs: number;
  /** CPUs on the host, to turn "percent of one CPU" into process.cpu.utilization. */
  readonly cpuCount: number;
}

export interface MetricStore {
  readonly endpoints: ReadonlyMap<string, EndpointEntity>;
  readonly replicas: ReadonlyMap<string, ReplicaEntity>;
  readonly apps: ReadonlyMap<string, AppEntity>;
  readonly checks: ReadonlyMap<string, CheckEntity>;
  proxyStats(s: ProxyStats): void;
  procStats(s: ProcStats): void;
  replicaCounts(app: string, desired: number, ready: number): void;
  restart(app: string, reason: Reason): void;
  plannedStop(app: string, reason: StopReason): void;
  /** Drops `balancer`'s endpoints that are not in `live`; returns how many went. */
  retainEndpoints(balancer: string, live: ReadonlySet<string>): number;
  healthResult(check: string, target: string, status: HealthStatus, latencyMs: number): void;
  scalingDecision(app: string, action: string, desired: number): void;
  /** The scaler's latest evaluation of an app (acted on or not): its desired count, and the decision counters at 0. */
  scalingEvaluated(app: string, desired: number): void;
  forget(kind: EntityKind, key: string | Attrs): number;
  /** Drops entities idle for longer than expireAfterMs; returns how many went. */
  expire(): number;
}

const SEP = "\u0000";
const nz = (n: number): number => (n > 0 ? n : 0);

function cell(attrs: Attrs, startMs: number): Cell {
  return { attrs, startMs, value: 0 };
}

function bumpCell(cells: Map<string, Cell>, base: Attrs, label: string, value: string, startMs: number): void {
  let c = cells.get(value);
  if (c === undefined) {
    if (cells.size >= MAX_CELLS_PER_ENTITY) return;
    c = cell({ ...base, [label]: value }, startMs);
    cells.set(value, c);
  }
  c.value++;
}

export function createMetricStore(opts: MetricStoreOptions): MetricStore {
  const endpoints = new Map<string, EndpointEntity>();
  const replicas = new Map<string, ReplicaEntity>();
  const apps = new Map<string, AppEntity>();
  const checks = new Map<string, CheckEntity>();
  const tables: Map<string, { readonly attrs: Attrs; seenMs: number }>[] = [endpoints, replicas, apps, checks];

  function endpointEntity(s: ProxyStats, now: number): EndpointEntity {
    const key = s.balancer + SEP + s.endpoint;
    let e = endpoints.get(key);
    if (e === undefined || e.protocol !== s.protocol) {
      // Semantic-convention attributes beside our own: the listener (server.*) and the protocol clients spoke.
      const attrs: Record<string, string> = { balancer: s.balancer, endpoint: s.endpoint };
      if (s.listen) {
        attrs[ATTR_SERVER_ADDRESS] = s.listen.address;
        attrs[ATTR_SERVER_PORT] = String(s.listen.port);
      }
      if (s.protocol === "http") attrs[ATTR_URL_SCHEME] = s.scheme ?? "http";
      else attrs[ATTR_NETWORK_TRANSPORT] = s.protocol;
      e = {
        attrs,
        protocol: s.protocol,
        startMs: now,
        seenMs: now,
        requests: 0,
        errors: 0,
        retries: 0,
        ejections: 0,
        picks: 0,
        active: 0,
        responses: s.protocol === "http" ? STATUS_CLASSES.map((c) => cell({ ...attrs, status_class: c }, now)) : [],
        bytes: { in: cell({ ...attrs, direction: "in" }, now), out: cell({ ...attrs, direction: "out" }, now) },
        latency: undefined,
        latencyStartMs: now,
      };
      endpoints.set(key, e);
    }
    return e;
  }

  function appEntity(app: string, now: number): AppEntity {
    let a = apps.get(app);
    if (a === undefined) {
      a = {
        attrs: { app },
        startMs: now,
        seenMs: now,
        desired: undefined,
        ready: undefined,
        scalingDesired: undefined,
        restarts: new Map(),
        plannedStops: new Map(),
        decisions: new Map(),
      };
      for (const r of RESTART_REASONS) a.restarts.set(r, cell({ app, reason: r }, now));
      for (const r of PLANNED_STOP_REASONS) a.plannedStops.set(r, cell({ app, reason: r }, now));
      apps.set(app, a);
    }
    a.seenMs = now;
    return a;
  }

  return {
    endpoints,
    replicas,
    apps,
    checks,

    proxyStats: function proxyStats(s) {
      const now = opts.now();
      const e = endpointEntity(s, now);
      e.seenMs = now;
      e.requests += nz(s.requests);
      e.errors += nz(s.errors);
      e.retries += nz(s.retries);
      e.ejections += nz(s.ejections);
      e.picks += s.picks !== undefined ? nz(s.picks) : nz(s.requests) + nz(s.retries);
      e.active = nz(s.active);
      e.bytes.in.value += nz(s.bytesIn);
      e.bytes.out.value += nz(s.bytesOut);
      if (e.responses.length > 0) {
        const r = s.responses;
        e.responses[0].value += nz(r["1xx"]);
        e.responses[1].value += nz(r["2xx"]);
        e.responses[2].value += nz(r["3xx"]);
        e.responses[3].value += nz(r["4xx"]);
        e.responses[4].value += nz(r["5xx"]);
      }
      const l = s.latency;
      if (l.counts.length !== l.bounds.length + 1) return;
      if (e.latency === undefined || !sameBounds(e.latency, l.bounds, 0.001)) {
        // New or changed bucket layout: the old counts cannot be re-bucketed, so the series restarts.
        if (!validBounds(l.bounds)) return;
        e.latency = createBucketHistogram(l.bounds.map((b) => b * 0.001));
        e.latencyStartMs = now;
      }
      addBuckets(e.latency, l.counts, nz(l.sum) * 0.001, nz(l.count));
    },

    procStats: function procStats(s) {
      const now = opts.now();
      const key = s.app + SEP + s.replica;
      let r = replicas.get(key);
      if (r === undefined) {
        r = { attrs: s.revision ? { app: s.app, replica: s.replica, revision: String(s.revision) } : { app: s.app, replica: s.replica }, seenMs: now, cpu: 0, rss: 0 };
        replicas.set(key, r);
      }
      r.seenMs = now;
      r.cpu = nz(s.cpuPercent) / 100 / opts.cpuCount;
      r.rss = nz(s.rssBytes);
    },

    replicaCounts: function replicaCounts(app, desired, ready) {
      const a = appEntity(app, opts.now());
      a.desired = nz(desired);
      a.ready = nz(ready);
    },

    restart: function restart(app, reason) {
      const a = appEntity(app, opts.now());
      bumpCell(a.restarts, a.attrs, "reason", reason, a.seenMs);
    },

    plannedStop: function plannedStop(app, reason) {
      const a = appEntity(app, opts.now());
      bumpCell(a.plannedStops, a.attrs, "reason", reason, a.seenMs);
    },

    retainEndpoints: function retainEndpoints(balancer, live) {
      let dropped = 0;
      for (const [k, e] of endpoints) {
        if (e.attrs.balancer === balancer && !live.has(e.attrs.endpoint!)) {
          endpoints.delete(k);
          dropped++;
        }
      }
      return dropped;
    },

    healthResult: function healthResult(check, target, status, latencyMs) {
      const now = opts.now();
      const key = check + SEP + target;
      let c = checks.get(key);
      if (c === undefined) {
        const attrs = { check, target };
        c = {
          attrs,
          startMs: now,
          seenMs: now,
          status: 0,
          results: HEALTH_STATUSES.map((st) => cell({ ...attrs, status: st }, now)),
          duration: createBucketHistogram(HEALTH_DURATION_BOUNDS),
        };
        checks.set(key, c);
      }
      c.seenMs = now;
      const idx = HEALTH_STATUSES.indexOf(status);
      if (idx < 0) return;
      c.status = idx;
      c.results[idx].value++;
      if (Number.isFinite(latencyMs)) observe(c.duration, nz(latencyMs) / 1000);
    },

    scalingDecision: function scalingDecision(app, action, desired) {
      const a = appEntity(app, opts.now());
      a.scalingDesired = nz(desired);
      bumpCell(a.decisions, a.attrs, "action", action, a.seenMs);
    },

    scalingEvaluated: function scalingEvaluated(app, desired) {
      const a = appEntity(app, opts.now());
      a.scalingDesired = nz(desired);
      for (const action of SCALING_ACTIONS) if (!a.decisions.has(action)) a.decisions.set(action, cell({ app, action }, a.seenMs));
    },

    forget: function forget(kind, key) {
      const match: Attrs = typeof key === "string" ? { [kind]: key } : key;
      const names = Object.keys(match);
      let dropped = 0;
      for (const table of tables) {
        for (const [k, entity] of table) {
          if (names.every((n) => entity.attrs[n] === match[n])) {
            table.delete(k);
            dropped++;
          }
        }
      }
      return dropped;
    },

    expire: function expire() {
      if (opts.expireAfterMs <= 0) return 0;
      const cutoff = opts.now() - opts.expireAfterMs;
      let dropped = 0;
      for (const table of tables) {
        for (const [k, entity] of table) {
          if (entity.seenMs < cutoff) {
            table.delete(k);
            dropped++;
          }
        }
      }
      return dropped;
    },
  };
}
