// Supervisor side of the balancer workers: pools from the catalog and static endpoints, pushed on every change;
// per-second stats merged across workers into the API view, metrics and scaler samples; draining.
import type { BalancerConfig } from "../config/schema.ts";
import { splitListen } from "../config/units.ts";
import { DRAIN_REPLY_MARGIN_MS, type FromBalancer, type PoolMember, type PoolSplit, type ToBalancer } from "../protocol/balancer.ts";
import type { MetricSample } from "../protocol/scaler.ts";
import { merge, StatsHistory, type StatsView, toExportHistogram } from "./balancer-stats.ts";
import type { Config } from "../config/schema.ts";
import type { Catalog } from "../state/catalog.ts";
import type { EventInput } from "../state/event-bus.ts";
import type { Telemetry } from "../telemetry/metrics.ts";
import { APP_NAMESPACE, type BalancerHost } from "./hub.ts";
import { localityWeights } from "../core/cluster/locality.ts";

type WorkerStats = Extract<FromBalancer, { t: "balancer.stats" }>;

export interface BalancerView {
  name: string;
  listen: string;
  protocol: string;
  algorithm: string;
  panic: boolean;
  /** False while some balancer worker cannot bind the listen address (`problem` says why; it keeps retrying). */
  listening: boolean;
  problem?: string;
  stats: StatsView;
  /** Serving from the backup members (no primary eligible, or failed over). */
  onBackup: boolean;
  /** Failed over to the backup members on purpose (the recovery ladder), until it fails back. */
  failedOver: boolean;
  endpoints: Array<PoolMember & { source: string; ejected: boolean; ejectedUntil: number; stats: StatsView }>;
}

/** Where a balancer's endpoints come from: an app's service, a discovered service, static endpoints. */
function sources(b: BalancerConfig): Array<{ namespace: string; service: string; remote: boolean; backup: boolean }> {
  const out: Array<{ namespace: string; service: string; remote: boolean; backup: boolean }> = [];
  // An app's balancer stays on this node unless asked to span the cluster; a service is whatever the catalog holds.
  if (b.backends.app) out.push({ namespace: APP_NAMESPACE, service: b.backends.app, remote: b.backends.scope === "cluster", backup: false });
  if (b.backends.service) out.push({ namespace: b.backends.namespace, service: b.backends.service, remote: true, backup: false });
  const bk = b.backends.backup;
  if (bk?.app) out.push({ namespace: APP_NAMESPACE, service: bk.app, remote: false, backup: true });
  if (bk?.service) out.push({ namespace: bk.namespace, service: bk.service, remote: true, backup: true });
  return out;
}

/** The balancer's static endpoints, primary then backup. */
const staticEndpoints = (b: BalancerConfig) => [...b.backends.endpoints.map((e) => ({ ...e, backup: false })), ...(b.backends.backup?.endpoints ?? []).map((e) => ({ ...e, backup: true }))];
const isStatic = (b: BalancerConfig, id: string) => b.backends.endpoints.some((e) => e.address === id) || (b.backends.backup?.endpoints ?? []).some((e) => e.address === id);

/** What the balancer link needs from the supervisor. */
export interface BalancerLinkDeps {
  config(): Config;
  readonly catalog: Pick<Catalog, "get" | "onChange" | "setDraining" | "setEndpointOverride" | "endpointOverride">;
  publish(e: EventInput): void;
  readonly telemetry: Pick<Telemetry, "proxyStats" | "retainEndpoints" | "forget">;
  /** The balancer workers, one per core. */
  balancerHosts(): ReadonlyArray<Pick<BalancerHost, "send" | "request">>;
  /** With a cluster: this node and zone, for locality-aware weights of pools that hold other nodes' endpoints. */
  readonly locality?: { readonly node: string; readonly zone: string };
  /** A rollout's traffic split over a service's endpoints: its revision, the endpoints running it and their share (percent). */
  split?(namespace: string, service: string): { readonly revision: number; readonly percent: number; readonly endpoints: ReadonlySet<string> } | null;
  /** Balancers the recovery ladder failed over to their backup members (the healing runner owns this fact). */
  failedOver?(balancer: string): boolean;
}

/** The balancer's catalog sources that hold this endpoint now (an override is recorded only where it applies). */
function holdersOf(hub: BalancerLinkDeps, b: BalancerConfig, endpoint: string) {
  return sources(b).filter(({ namespace, service }) => hub.catalog.get(namespace, service)?.endpoints.some((e) => e.id === endpoint));
}


/**
 * Where the operator's overrides of a balancer's static endpoints (its `backends.endpoints`) are kept in the catalog:
 * under this namespace and the balancer's name, persisted with every other override. "@" is not allowed in a
 * namespace, so no service ever shares them.
 */
export const STATIC_NAMESPACE = "@static";

export function createBalancerLink(hub: BalancerLinkDeps, onSamples: (s: MetricSample[]) => void) {
  /** The last second's reports per balancer (one per worker). */
  const latest = new Map<string, WorkerStats[]>();
  const ejectedUntil = new Map<string, number>();
  /** When each current ejection began (wall clock), so a verdict can ignore one that predates a replica's restart. */
  const ejectedAt = new Map<string, number>();
  /** Lifetime totals and the recent window, per balancer ("name") and per endpoint ("name/endpoint"). */
  const histories = new Map<string, StatsHistory>();
  /** Listeners that failed to bind, per "balancer#worker", until that worker reports it listening. */
  const listenFailures = new Map<string, { balancer: string; problem: string }>();
  const historyOf = (key: string): StatsHistory => {
    let h = histories.get(key);
    if (!h) histories.set(key, (h = new StatsHistory(Date.now())));
    return h;
  };
  let scheduled = false;

  const holders = (b: BalancerConfig, endpoint: string) => holdersOf(hub, b, endpoint);
  /** A balancer's pool as its workers get it, with the traffic split over it when a rollout splits its app's. */
  const poolOf = (b: BalancerConfig): { members: PoolMember[]; split?: PoolSplit } => {
    const out: PoolMember[] = [];
    const places: Array<{ node?: string; zone?: string }> = [];
    type Split = { readonly revision: number; readonly percent: number; readonly endpoints: ReadonlySet<string> };
    let split: Split | null = null;
    for (const { namespace, service, remote, backup } of sources(b)) {
      const s = hub.catalog.get(namespace, service);
      // A service in maintenance is in no pool (Consul's maintenance mode); its endpoints come back when it ends.
      if (s?.maintenance) continue;
      // At most one primary source is an app (a balancer has one backends.app), and only an app's rollout splits;
      // a backup app's rollout does not split the primaries' traffic.
      const sp: Split | null = split ?? (backup ? null : hub.split?.(namespace, service) ?? null);
      if (sp && !split) split = sp;
      for (const e of s?.endpoints ?? []) {
        if (e.node !== undefined && !remote) continue;
        const rev = sp && sp.endpoints.has(e.id) ? { revision: sp.revision } : {};
        out.push({ id: e.id, address: e.address, port: e.port, weight: e.weight, health: e.health, draining: e.draining, ...(backup ? { backup } : {}), ...rev });
        places.push({ ...(e.node !== undefined ? { node: e.node } : {}), ...(e.zone !== undefined ? { zone: e.zone } : {}) });
      }
    }
    if (hub.locality && places.some((p) => p.node !== undefined)) {
      const w = localityWeights(out.map((m, i) => ({ ...places[i], weight: m.weight, health: m.health, draining: m.draining })), hub.locality, b.locality.prefer, b.locality.overprovisioning);
      for (let i = 0; i < out.length; i++) out[i] = { ...out[i]!, weight: w[i]! };
    }
    for (const e of staticEndpoints(b)) {
      const { hostname, port } = splitListen(e.address);
      const o = hub.catalog.endpointOverride(STATIC_NAMESPACE, b.name, e.address);
      out.push({ id: e.address, address: hostname, port, weight: o?.weight ?? e.weight, health: "passing", draining: o?.draining ?? false, ...(e.backup ? { backup: true } : {}) });
    }
    // The split itself is applied by the workers as a two-level pick (core/balancing/split.ts): the weights above
    // stay the operator's (and locality's) inside each side.
    return split ? { members: out, split: { revision: split.revision, percent: split.percent } } : { members: out };
  };
  const members = (b: BalancerConfig): PoolMember[] => poolOf(b).members;

  const pools = () => Object.fromEntries(hub.config().balancers.map((b) => [b.name, members(b)]));
  /** What a (re)started worker gets: every pool and the splits over them, derived together. */
  const initState = () => {
    const all = hub.config().balancers.map((b) => [b.name, poolOf(b)] as const);
    const splits = Object.fromEntries(all.flatMap(([name, p]) => (p.split ? [[name, p.split]] : [])));
    return { pools: Object.fromEntries(all.map(([name, p]) => [name, p.members])), ...(Object.keys(splits).length > 0 ? { splits } : {}) };
  };

  const pushAll = () => {
    scheduled = false;
    for (const b of hub.config().balancers) {
      const p = poolOf(b);
      const msg: ToBalancer = { t: "balancer.pool", balancer: b.name, members: p.members, ...(hub.failedOver?.(b.name) ? { failover: true } : {}), ...(p.split ? { split: p.split } : {}) };
      for (const h of hub.balancerHosts()) h.send(msg);
    }
  };
  const changed = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      if (scheduled) pushAll();
    });
  };
  hub.catalog.onChange(changed);

  /** Reports received since the last flush; each is one worker's counts for its last second. */
  let pending: WorkerStats[] = [];
  /** Balancers whose series were exported at the last flush, so a balancer removed by a reload can be forgotten. */
  let reportedBalancers = new Set<string>();
  let fallback: ReturnType<typeof setTimeout> | undefined;
  /**
   * Workers report once a second on their own timers. A round is flushed as soon as every worker has reported
   * (so a second is never counted twice or missed), or 1.5 s after its first report if a worker is late.
   */
  const roundComplete = () => {
    const workers = hub.balancerHosts().length;
    const seen = new Map<string, Set<number>>();
    for (const p of pending) {
      let set = seen.get(p.balancer);
      if (!set) seen.set(p.balancer, (set = new Set()));
      set.add(p.worker);
    }
    return hub.config().balancers.every((b) => (seen.get(b.name)?.size ?? 0) >= workers);
  };
  const onStats = (msg: WorkerStats) => {
    pending.push(msg);
    for (const [id, e] of Object.entries(msg.endpoints)) if (e.ejectedForMs > 0) ejectedUntil.set(`${msg.balancer}/${id}`, Date.now() + e.ejectedForMs);
    if (roundComplete()) {
      flush();
      return;
    }
    fallback ??= setTimeout(flush, 1500);
  };

  /** Once a round: merge what every worker sent, keep it for the API, export it, and feed the scaler. */
  const flush = () => {
    if (fallback) clearTimeout(fallback);
    fallback = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    const byBalancer = new Map<string, WorkerStats[]>();
    for (const m of batch) {
      let list = byBalancer.get(m.balancer);
      if (!list) byBalancer.set(m.balancer, (list = []));
      list.push(m);
    }
    const at = Date.now();
    const samples: MetricSample[] = [];
    const live = new Set<string>();
    for (const b of hub.config().balancers) {
      const reports = byBalancer.get(b.name) ?? [];
      latest.set(b.name, reports);
      live.add(b.name);
      historyOf(b.name).add(merge(reports.map((w) => w.listener)));
      const held = reports.reduce((n, r) => n + r.held, 0);
      if (held > 0 && b.backends.app) {
        // Requests waiting for a replica are demand the scaler must see even with no replica to report it.
        samples.push({ app: b.backends.app, metric: "rps_per_replica", value: held, at });
        samples.push({ app: b.backends.app, metric: "inflight_per_replica", value: held, at });
      }
      const ids = new Set<string>();
      const { hostname, port } = splitListen(b.listen);
      const listen = { address: hostname, port };
      for (const m of members(b)) {
        ids.add(m.id);
        // This round's counts (deltas) feed the exporters and the scaler; the history keeps totals for the API.
        const round = merge(reports.flatMap((w) => (w.endpoints[m.id] ? [w.endpoints[m.id]!] : [])));
        const key = `${b.name}/${m.id}`;
        live.add(key);
        historyOf(key).add(round);
        hub.telemetry.proxyStats({
          balancer: b.name,
          endpoint: m.id,
          protocol: b.protocol,
          listen,
          scheme: b.tls ? "https" : "http",
          requests: round.requests,
          responses: round.responses,
          errors: round.errors,
          retries: round.retries,
          ejections: round.ejections,
          bytesIn: round.bytesIn,
          bytesOut: round.bytesOut,
          active: round.active,
          latency: toExportHistogram(round),
        });
        if (b.backends.app && !m.backup && sourceOf(b, m.id) === "app") {
          samples.push({ app: b.backends.app, replica: m.id, metric: "rps_per_replica", value: round.requests, at });
          samples.push({ app: b.backends.app, replica: m.id, metric: "inflight_per_replica", value: round.active, at });
          if (round.latency.count > 0) samples.push({ app: b.backends.app, replica: m.id, metric: "latency_p95_ms", value: round.latency.p95Ms, at });
        }
      }
      // An endpoint gone from the pool (replica stopped, service deregistered) takes its series with it, gauges included.
      hub.telemetry.retainEndpoints(b.name, ids);
    }
    // Endpoints and balancers that are gone take their history with them.
    for (const key of histories.keys()) if (!live.has(key)) histories.delete(key);
    const configured = new Set(hub.config().balancers.map((b) => b.name));
    for (const name of reportedBalancers) if (!configured.has(name)) hub.telemetry.forget("balancer", name);
    reportedBalancers = configured;
    if (samples.length > 0) onSamples(samples);
  };

  const sourceOf = (b: BalancerConfig, id: string, backup = false): string =>
    (backup ? "backup:" : "") + (isStatic(b, id) ? "static" : (backup ? b.backends.backup?.app : b.backends.app) ? "app" : "service");
  const statsOf = (key: string): StatsView => (histories.get(key) ?? new StatsHistory(Date.now())).view();
  /** The recent windows of these endpoints in every balancer that has them. */
  const windowsOf = (endpointIds: readonly string[]) => {
    const out = [];
    for (const b of hub.config().balancers) for (const id of endpointIds) {
      const h = histories.get(`${b.name}/${id}`);
      if (h) out.push(h.window());
    }
    return out;
  };

  const viewOf = (b: BalancerConfig): BalancerView => {
    const perWorker = latest.get(b.name) ?? [];
    const now = Date.now();
    return {
      name: b.name,
      listen: b.listen,
      protocol: b.protocol,
      algorithm: b.algorithm,
      panic: perWorker.some((w) => w.panic),
      onBackup: perWorker.some((w) => w.onBackup === true),
      failedOver: hub.failedOver?.(b.name) ?? false,
      listening: ![...listenFailures.values()].some((f) => f.balancer === b.name),
      ...(() => {
        const f = [...listenFailures.values()].find((x) => x.balancer === b.name);
        return f ? { problem: f.problem } : {};
      })(),
      stats: statsOf(b.name),
      endpoints: members(b).map((m) => {
        const until = ejectedUntil.get(`${b.name}/${m.id}`) ?? 0;
        return {
          ...m,
          source: sourceOf(b, m.id, m.backup === true),
          ejected: until > now,
          ejectedUntil: until,
          stats: statsOf(`${b.name}/${m.id}`),
        };
      }),
    };
  };

  /**
   * The one drain protocol: the pool that marks the endpoint draining goes out first (messages to a worker stay in
   * order, so nothing new is routed to it after), then every worker answers once its in-flight count for the
   * endpoint is 0, or when the balancer's drain_timeout passes. Returns what was still in flight then.
   */
  const waitIdle = async (balancers: BalancerConfig[], endpoint: string) => {
    if (scheduled) pushAll();
    const replies = balancers.flatMap((b) =>
      hub.balancerHosts().map((h) =>
        // The worker bounds the wait itself; this bound only covers a worker that dies meanwhile (its requests died too).
        h.request({ t: "balancer.drain", balancer: b.name, endpoint }, b.drain_timeout + DRAIN_REPLY_MARGIN_MS).then((r) => r.inFlight, () => 0),
      ),
    );
    return (await Promise.all(replies)).reduce((a, b) => a + b, 0);
  };

  return {
    windowsOf,
    /** Some balancer ejected this endpoint (outlier detection) at or after `since`, and the ejection has not ended. */
    isEjected(endpoint: string, since = 0): boolean {
      const t = Date.now();
      for (const b of hub.config().balancers) {
        const k = `${b.name}/${endpoint}`;
        if ((ejectedUntil.get(k) ?? 0) > t && (ejectedAt.get(k) ?? 0) >= since) return true;
      }
      return false;
    },
    /** Something the pools derive from besides the catalog changed (a rollout's traffic split): push them again. */
    refresh: changed,
    state: () => pools(),
    /** The balancers failed over now (for a restarted worker's init). */
    failedOver: () => hub.config().balancers.filter((b) => hub.failedOver?.(b.name)).map((b) => b.name),
    /** The balancers that route to this app (primary or backup), for the ladder's failover. */
    frontingApp: (app: string) => hub.config().balancers.filter((b) => b.backends.app === app),
    /** Pools and splits for a balancer worker's init. */
    initState,
    stop: () => {
      if (fallback) clearTimeout(fallback);
    },
    changed,
    handle(msg: FromBalancer): boolean {
      switch (msg.t) {
        case "balancer.stats":
          onStats(msg);
          return true;
        case "balancer.ejection":
          if (msg.action === "eject") {
            ejectedUntil.set(`${msg.balancer}/${msg.endpoint}`, Date.now() + msg.forMs);
            ejectedAt.set(`${msg.balancer}/${msg.endpoint}`, Date.now());
          }
          if (msg.action === "uneject") {
            ejectedUntil.delete(`${msg.balancer}/${msg.endpoint}`);
            ejectedAt.delete(`${msg.balancer}/${msg.endpoint}`);
          }
          if (msg.action !== "skip") {
            hub.publish({
              type: msg.action === "eject" ? "balancer.ejected" : "balancer.unejected",
              source: "balancer",
              target: `${msg.balancer}/${msg.endpoint}`,
              severity: msg.action === "eject" ? "warning" : "info",
              message: msg.action === "eject" ? `${msg.balancer}: ejected ${msg.endpoint} for ${Math.round(msg.forMs / 1000)} s (${msg.reason}, ejection ${msg.timesEjected})` : `${msg.balancer}: ${msg.endpoint} back in rotation`,
              data: { ...msg },
            });
          }
          return true;
        case "balancer.listen-failed": {
          const key = `${msg.balancer}#${msg.worker}`;
          const first = !listenFailures.has(key);
          const problem = `cannot listen on ${msg.address}: ${msg.code} (${msg.message})`;
          listenFailures.set(key, { balancer: msg.balancer, problem });
          // One event when it starts failing, not one per retry: the backoff keeps trying, /readyz and the view say so.
          if (first) hub.publish({ type: "balancer.listen-failed", source: "balancer", target: msg.balancer, severity: "critical", message: `${msg.balancer}: ${problem}; retrying with backoff`, data: { ...msg } });
          return true;
        }
        case "balancer.listening":
          if (listenFailures.delete(`${msg.balancer}#${msg.worker}`)) {
            hub.publish({ type: "balancer.listening", source: "balancer", target: msg.balancer, severity: "info", message: `${msg.balancer}: listening on ${msg.address}`, data: { ...msg } });
          }
          return true;
        default:
          return false;
      }
    },
    views: () => hub.config().balancers.map(viewOf),
    /** Why the data plane is not fully up: one line per configured balancer some worker cannot bind (for /readyz). */
    notListening: (): string[] => {
      const names = new Set(hub.config().balancers.map((b) => b.name));
      const out = new Set<string>();
      for (const f of listenFailures.values()) if (names.has(f.balancer)) out.add(`balancer ${f.balancer}: ${f.problem}`);
      return [...out];
    },
    view: (name: string) => {
      const b = hub.config().balancers.find((x) => x.name === name);
      return b ? viewOf(b) : undefined;
    },
    /** Drain one endpoint of one balancer; for catalog endpoints this drains it everywhere (it is the service's). */
    async drain(balancer: string, endpoint: string): Promise<{ inFlight: number }> {
      const b = hub.config().balancers.find((x) => x.name === balancer)!;
      if (isStatic(b, endpoint)) {
        hub.catalog.setEndpointOverride(STATIC_NAMESPACE, b.name, endpoint, { draining: true });
        changed();
      } else {
        for (const { namespace, service } of holders(b, endpoint)) hub.catalog.setEndpointOverride(namespace, service, endpoint, { draining: true });
      }
      return { inFlight: await waitIdle([b], endpoint) };
    },
    setWeight(balancer: string, endpoint: string, weight: number) {
      const b = hub.config().balancers.find((x) => x.name === balancer)!;
      if (isStatic(b, endpoint)) {
        hub.catalog.setEndpointOverride(STATIC_NAMESPACE, b.name, endpoint, { weight });
        changed();
        return;
      }
      for (const { namespace, service } of holders(b, endpoint)) hub.catalog.setEndpointOverride(namespace, service, endpoint, { weight });
    },
    /** For the hub: drain a catalog endpoint from every balancer that routes to its service. */
    async drainCatalogEndpoint(namespace: string, service: string, endpoint: string) {
      hub.catalog.setDraining(namespace, service, endpoint, true);
      const users = hub.config().balancers.filter((b) => sources(b).some((s) => s.namespace === namespace && s.service === service));
      if (users.length > 0) await waitIdle(users, endpoint);
    },
  };
}

export type BalancerLink = ReturnType<typeof createBalancerLink>;
