// One configured balancer inside a worker: its pool (health, drain, outlier ejection, slow start, panic, connection
// limits, sticky sessions) in front of a core Picker, and its HTTP, TCP or UDP proxy.
import { readFileSync } from "node:fs";
import { createPicker, KEYED_ALGORITHMS } from "../core/balancing/index.ts";
import { createSplitPicker } from "../core/balancing/split.ts";
import { createOutlierDetector, type OutlierDecision } from "../core/balancing/outlier.ts";
import { atLimit, buildPool, type EligibleEndpoint, type EndpointRecord } from "../core/balancing/pool.ts";
import { createStickySessions } from "../core/balancing/sticky.ts";
import type { PoolEndpoint } from "../core/balancing/picker.ts";
import { systemClock, systemRng } from "../core/time.ts";
import { splitListen } from "../config/units.ts";
import type { BalancerSpec, EndpointStats, PoolMember, PoolSplit } from "../protocol/balancer.ts";
import { createHttpProxy, type HttpProxy } from "./http-proxy.ts";
import { createPickerPool, type HashKey } from "./picker-pool.ts";
import type { ConnectionContext, ProxyOutcome, ProxyPool, RequestContext } from "./proxy-pool.ts";
import type { StatsSnapshot } from "./proxy-stats.ts";
import type { BalancedListener } from "./conn-balancer.ts";
import { createTcpProxy, type TcpProxy } from "./tcp-proxy.ts";
import { createUdpProxy, type UdpProxy } from "./udp-proxy.ts";

type MutableRecord = { -readonly [K in keyof EndpointRecord]: EndpointRecord[K] };

export interface Listener {
  readonly name: string;
  readonly port: number;
  /**
   * The pool, with `failover` (route to the backup members even though primaries are eligible) and the rollout's
   * traffic split over it (absent: none); they always come together.
   */
  setMembers(members: readonly PoolMember[], opts?: { readonly failover?: boolean; readonly split?: PoolSplit | undefined }): void;
  active(endpoint: string): number;
  /** Resolves once the endpoint has nothing in flight here (at once when idle, or when it leaves the pool). */
  whenIdle(endpoint: string): Promise<void>;
  stats(): { listener: StatsSnapshot; endpoints: Record<string, EndpointStats>; panic: boolean; onBackup: boolean; held: number };
  reloadTls(): void;
  close(graceMs: number): Promise<void>;
  /** HTTP listeners only: what the connection balance between workers needs (conn-balancer.ts). */
  readonly balanced?: BalancedListener;
}

function hashKeyOf(cfg: BalancerSpec): HashKey {
  if (!["ip_hash", "consistent_hash", "maglev"].includes(cfg.algorithm)) return { kind: "none" };
  switch (cfg.hash_key.source) {
    case "header": return { kind: "header", name: cfg.hash_key.name!.toLowerCase() };
    case "cookie": return { kind: "cookie", name: cfg.hash_key.name! };
    case "path": return { kind: "path" };
    default: return { kind: "client-ip" };
  }
}

/** How many re-picks a request gets when the picked endpoint is at its connection limit. */
const ADMIT_ATTEMPTS = 3;

export async function createListener(cfg: BalancerSpec, onEjection: (d: OutlierDecision, forMs: number) => void): Promise<Listener> {
  const clock = systemClock;
  const makePicker = () => createPicker(cfg.algorithm, {
    rng: systemRng,
    clock,
    pointsPerWeight: cfg.ring_hash.points_per_weight,
    maxPoints: cfg.ring_hash.max_points,
    tableSize: cfg.maglev.table_size,
    ...(cfg.hash_balance_factor !== undefined ? { hashBalanceFactor: cfg.hash_balance_factor } : {}),
  });
  // A rollout's traffic split picks the revision first, then this algorithm inside it (core/balancing/split.ts).
  const picker = createSplitPicker(makePicker, { keyed: KEYED_ALGORITHMS.includes(cfg.algorithm) });
  const hashKey = hashKeyOf(cfg);
  const limited = cfg.max_connections_per_endpoint !== undefined;
  const pickerPool = createPickerPool(picker, hashKey, { admitAttempts: limited ? ADMIT_ATTEMPTS : 0 });
  const outlier = createOutlierDetector({
    consecutive5xx: cfg.outlier.consecutive_5xx,
    consecutiveGatewayFailure: cfg.outlier.consecutive_gateway_failure,
    baseEjectionMs: cfg.outlier.base_ejection_time,
    maxEjectionMs: cfg.outlier.max_ejection_time,
    maxEjectionPercent: cfg.outlier.max_ejection_percent,
  });
  const sticky = cfg.sticky ? createStickySessions({ cookieName: cfg.sticky.cookie }) : undefined;
  const records = new Map<string, MutableRecord>();
  const ejections = new Map<string, number>();
  let eligible: EligibleEndpoint[] = [];
  let panic = false;
  let onBackup = false;
  let failedOver = false;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** Endpoints present at the first push take full weight at once; later ones slow-start. */
  let initialized = false;

  const rebuild = () => {
    const now = clock.now();
    for (const r of records.values()) {
      const until = outlier.ejectedUntil(r.id);
      r.ejectedUntil = until > now ? until : undefined;
    }
    const view = buildPool([...records.values()], now, {
      warningWeightFactor: cfg.warning_weight,
      panicThresholdPercent: cfg.panic_threshold,
      slowStart: { windowMs: cfg.slow_start.window, aggression: cfg.slow_start.aggression, minWeightPercent: cfg.slow_start.min_weight_percent },
      failover: failedOver,
    });
    onBackup = view.onBackup;
    eligible = view.endpoints as EligibleEndpoint[];
    panic = view.panic;
    pickerPool.setEndpoints(eligible as unknown as PoolEndpoint[]);
    sticky?.update(eligible);
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = undefined;
    if (Number.isFinite(view.refreshAt)) refreshTimer = setTimeout(rebuild, Math.max(10, view.refreshAt - now));
  };

  const pick = (ctx: RequestContext | ConnectionContext): PoolEndpoint | undefined => {
    if (sticky && "cookie" in ctx) {
      const v = ctx.cookie(cfg.sticky!.cookie);
      if (v) {
        const i = sticky.lookup(v);
        if (i >= 0 && !(limited && atLimit(eligible[i]!))) return eligible[i] as unknown as PoolEndpoint;
      }
    }
    return pickerPool.pick(ctx);
  };

  /** Drains waiting for an endpoint's in-flight count to reach 0; checked as each request or connection ends. */
  const idleWaiters = new Map<string, Array<() => void>>();
  const settleIdle = (id: string) => {
    const waiters = idleWaiters.get(id);
    if (!waiters || (records.get(id)?.active ?? 0) > 0) return;
    idleWaiters.delete(id);
    for (const resolve of waiters) resolve();
  };

  const onDone = (ep: PoolEndpoint, latencyMs: number, outcome: ProxyOutcome) => {
    pickerPool.onDone?.(ep, latencyMs, outcome);
    if (idleWaiters.size > 0) settleIdle(ep.id);
    // A client that left or stalled is no evidence against the endpoint.
    if (!cfg.outlier.enabled || outcome === "client") return;
    const d = outlier.record(ep.id, outcome === "protocol" ? 502 : outcome === "connect" ? "connect_error" : outcome, clock.now());
    if (d) {
      if (d.action === "eject") ejections.set(d.id, (ejections.get(d.id) ?? 0) + 1);
      onEjection(d, Math.max(0, d.untilMs - clock.now()));
      if (d.action !== "skip") rebuild();
    }
  };

  const pool: Omit<ProxyPool<PoolEndpoint>, "pick"> & { pick(ctx: RequestContext | ConnectionContext): PoolEndpoint | undefined } = {
    pick,
    isEmpty: () => records.size === 0,
    onStart: (ep) => pickerPool.onStart?.(ep),
    onDone,
    ...(sticky
      ? {
          stickyCookie(ep: PoolEndpoint, ctx: RequestContext) {
            const value = sticky.encode(ep.id);
            if (ctx.cookie(cfg.sticky!.cookie) === value) return undefined;
            const maxAge = cfg.sticky!.ttl !== undefined ? `; Max-Age=${Math.round(cfg.sticky!.ttl / 1000)}` : "";
            return `${cfg.sticky!.cookie}=${value}; Path=/; HttpOnly; SameSite=Lax${maxAge}`;
          },
        }
      : {}),
  };

  const { hostname, port } = splitListen(cfg.listen);
  let proxy: HttpProxy | TcpProxy | UdpProxy;
  if (cfg.protocol === "http") {
    proxy = createHttpProxy({
      hostname,
      port,
      pool,
      ...(cfg.tls ? { tls: { certFile: cfg.tls.cert_file, keyFile: cfg.tls.key_file } } : {}),
      ...(cfg.upstream_tls ? { upstreamTls: { verify: cfg.upstream_tls.verify, ...(cfg.upstream_tls.ca_file ? { caFile: cfg.upstream_tls.ca_file } : {}), ...(cfg.upstream_tls.servername ? { serverName: cfg.upstream_tls.servername } : {}) } } : {}),
      holdWhenEmptyMs: cfg.hold_when_empty ?? 0,
      headerTimeoutMs: cfg.timeouts.header,
      clientIdleTimeoutMs: cfg.timeouts.idle,
      connectTimeoutMs: cfg.timeouts.connect,
      requestTimeoutMs: cfg.timeouts.request,
      maxRetries: cfg.retries.max,
      retryRatio: cfg.retries.budget_percent / 100,
      retryMinPerSecond: cfg.retries.min_per_second,
      ...(cfg.http2
        ? {
            h2: {
              upstream: cfg.upstream_protocol,
              maxConcurrentStreams: cfg.http2.max_concurrent_streams,
              upstreamMaxStreams: cfg.http2.upstream_max_streams,
              ...(cfg.upstream_protocol === "h2" ? { upstreamTls: { rejectUnauthorized: cfg.upstream_tls?.verify ?? true, ...(cfg.upstream_tls?.ca_file ? { ca: readFileSync(cfg.upstream_tls.ca_file, "utf8") } : {}), ...(cfg.upstream_tls?.servername ? { servername: cfg.upstream_tls.servername } : {}) } } : {}),
            },
          }
        : {}),
    });
  } else if (cfg.protocol === "tcp") {
    proxy = createTcpProxy({ hostname, port, pool, connectTimeoutMs: cfg.timeouts.connect, maxRetries: cfg.retries.max, idleTimeoutMs: cfg.timeouts.idle });
  } else {
    proxy = await createUdpProxy({ hostname, port, pool, idleTimeoutMs: cfg.udp_idle_timeout });
  }

  // Started only once the proxy is bound: a bind failure above must leave nothing running.
  const outlierTick = setInterval(() => {
    const decisions = outlier.tick(clock.now());
    if (decisions.length > 0) {
      for (const d of decisions) onEjection(d, Math.max(0, d.untilMs - clock.now()));
      rebuild();
    }
  }, 1000);

  const http = cfg.protocol === "http" ? (proxy as HttpProxy) : undefined;
  return {
    name: cfg.name,
    port: proxy.port,
    ...(http ? { balanced: { connections: () => http.connections(), shed: (n: number) => http.shed(n) } } : {}),
    setMembers(members, opts = {}) {
      const now = clock.now();
      failedOver = opts.failover === true;
      picker.setSplit(opts.split ?? null);
      const seen = new Set<string>();
      for (const m of members) {
        seen.add(m.id);
        const prev = records.get(m.id);
        if (prev) {
          if (prev.health !== "passing" && m.health === "passing") prev.recoveredAt = now;
          prev.address = m.address;
          prev.port = m.port;
          prev.weight = m.weight;
          prev.health = m.health;
          prev.draining = m.draining;
          prev.draining = m.draining;
          prev.backup = m.backup === true;
          if (m.revision !== undefined) prev.revision = m.revision;
          else delete prev.revision;
        } else {
          records.set(m.id, { id: m.id, address: m.address, port: m.port, weight: m.weight, health: m.health, draining: m.draining, active: 0, backup: m.backup === true, ...(m.revision !== undefined ? { revision: m.revision } : {}), ...(cfg.max_connections_per_endpoint !== undefined ? { maxConnections: cfg.max_connections_per_endpoint } : {}), ...(initialized ? { addedAt: now } : {}) });
        }
      }
      for (const id of [...records.keys()]) if (!seen.has(id)) records.delete(id);
      http?.h2?.retain(seen);
      for (const id of [...idleWaiters.keys()]) settleIdle(id);
      initialized = true;
      outlier.setEndpoints([...records.keys()], now);
      rebuild();
      if ("wake" in proxy) proxy.wake();
    },
    active(endpoint) {
      return records.get(endpoint)?.active ?? 0;
    },
    whenIdle(endpoint) {
      if ((records.get(endpoint)?.active ?? 0) === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const waiters = idleWaiters.get(endpoint);
        if (waiters) waiters.push(resolve);
        else idleWaiters.set(endpoint, [resolve]);
      });
    },
    stats() {
      const s = proxy.stats(true);
      const endpoints: Record<string, EndpointStats> = {};
      for (const [id, e] of Object.entries(s.endpoints)) {
        endpoints[id] = { ...e, active: records.get(id)?.active ?? e.active, ejections: ejections.get(id) ?? 0, ejectedForMs: Math.max(0, outlier.ejectedUntil(id) - clock.now()) };
      }
      for (const id of records.keys()) {
        if (!endpoints[id] && (ejections.get(id) ?? 0) > 0) endpoints[id] = { ...emptyStats(), ejections: ejections.get(id)!, ejectedForMs: Math.max(0, outlier.ejectedUntil(id) - clock.now()) };
      }
      ejections.clear();
      return { listener: s.listener, endpoints, panic, onBackup, held: "held" in proxy ? proxy.held() : 0 };
    },
    reloadTls() {
      if (cfg.tls && "reloadTls" in proxy) proxy.reloadTls({ certFile: cfg.tls.cert_file, keyFile: cfg.tls.key_file });
    },
    async close(graceMs) {
      clearInterval(outlierTick);
      for (const waiters of idleWaiters.values()) for (const resolve of waiters) resolve();
      idleWaiters.clear();
      if (refreshTimer) clearTimeout(refreshTimer);
      await proxy.close(graceMs);
    },
  };
}

function emptyStats(): StatsSnapshot {
  return { requests: 0, responses: [0, 0, 0, 0, 0, 0], errors: 0, retries: 0, bytesIn: 0, bytesOut: 0, active: 0, latency: { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0 }, buckets: [], sumUs: 0 };
}
