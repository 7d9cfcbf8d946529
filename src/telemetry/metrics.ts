// The agent's one MeterProvider: Polis metrics in, Prometheus text and OTLP/HTTP protobuf push out.
//
// Lifecycle: created -> running (ingest, prometheusText, forceFlush) -> shut down. shutdown() is idempotent
// (every call returns the same promise) and pushes a last OTLP export; after it ingest is ignored and
// prometheusText() resolves to "". Nothing here starts a server or a timer except the OTLP reader's interval.
//
// Data path: workers aggregate per second and post to the main thread, which calls the ingest methods
// below. Entity-keyed metrics (endpoints, replicas, apps, checks) live in a MetricStore exported through a
// MetricProducer, so gone entities can be forgotten or expire; see metrics-store.ts for why not instruments.
// Events and host gauges are ordinary SDK instruments (bounded attribute sets, nothing to forget).
import { type Attributes, type Counter, type Histogram, ValueType } from "@opentelemetry/api";
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_NETWORK_TRANSPORT, ATTR_URL_SCHEME } from "@opentelemetry/semantic-conventions";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import type { Reason } from "../core/supervision/restart-policy.ts";
import type { StopReason } from "../protocol/procs.ts";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { AggregationTemporality, type IMetricReader, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { availableParallelism } from "node:os";
import { type Clock, wallClock } from "../core/time.ts";
import { resolveTelemetryConfig, type TelemetryOptions } from "./metrics-config.ts";
import { observeExporter, withPrometheusNames } from "./metrics-export.ts";
import { createHostSampler, createSelfSampler, type HostSampleFn, sampleHost } from "./metrics-host.ts";
import { METRICS } from "./metrics-names.ts";
import { createStoreProducer } from "./metrics-producer.ts";
import { createMetricStore, type EntityKind, type HealthStatus, type ProcStats, type ProxyStats } from "./metrics-store.ts";

export type { EntityKind, HealthStatus, ProcStats, ProxyStats } from "./metrics-store.ts";
export type { OtlpOptions, TelemetryOptions } from "./metrics-config.ts";

export interface CreateTelemetryOptions extends TelemetryOptions {
  /** Wall clock (ms since epoch) for timestamps and expiry; tests pass a fake. */
  readonly clock?: Clock;
  /** Drop an entity none of whose ingest calls arrived for this long (default 5 min); 0 = only forget(). */
  readonly expireAfterMs?: number;
  /** Host sampler; false turns the system.* gauges off. Defaults to systeminformation. */
  readonly hostSample?: HostSampleFn | false;
  /** Defaults to os.availableParallelism(). */
  readonly cpuCount?: number;
  /** Where the OTLP pipeline says it is on, and reports failed pushes (at most once a minute). */
  readonly log?: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void };
}

export interface Telemetry {
  /** Prometheus text exposition (format 0.0.4) of every metric; serve at GET /metrics. */
  prometheusText(): Promise<string>;
  proxyStats(s: ProxyStats): void;
  procStats(s: ProcStats): void;
  replicas(app: string, desired: number, ready: number): void;
  /** An unplanned restart: the replica ended on its own or was killed for a limit; `reason` says which. */
  restart(app: string, reason: Reason): void;
  /** A stop the agent planned (rolling restart, scale-down, operator restart, shutdown): counted apart from restarts. */
  plannedStop(app: string, reason: StopReason): void;
  /** Drops the series of `balancer`'s endpoints that are not in `live` (removed from its pool). */
  retainEndpoints(balancer: string, live: ReadonlySet<string>): number;
  /** One admin API request: `route` is the matched pattern (e.g. /v1/apps/:name), never the raw path. */
  apiRequest(method: string, route: string, status: number, scheme: "http" | "https", seconds: number): void;
  /** One DNS query answered: question type (A, AAAA, SRV, ...), response code (NOERROR, NXDOMAIN, ...), transport. */
  dnsQuery(type: string, rcode: string, transport: "udp" | "tcp"): void;
  healthResult(check: string, target: string, status: HealthStatus, latencyMs: number): void;
  scalingDecision(app: string, action: string, current: number, desired: number): void;
  /** The scaler's latest evaluation of an app, whether or not it acted. */
  scalingEvaluated(app: string, desired: number): void;
  eventBusDrop(n: number): void;
  /** Alert counts by state and severity, read at each collection. */
  observeAlerts(read: () => ReadonlyArray<{ state: string; severity: string; count: number }>): void;
  alertNotification(receiver: string, outcome: "sent" | "failed" | "dropped"): void;
  /** The cluster link's last status, read at each collection (undefined before the worker's first report). */
  observeCluster(read: () => { stale: boolean; rttMs?: number; watchLagMs?: number; resyncs: number; remoteEndpoints: number; members: Readonly<Record<string, number>> } | undefined): void;
  event(type: string): void;
  /**
   * Stops exporting an entity's series. A string key matches the label named by `kind` ("app", "replica",
   * "endpoint", "balancer", "check", "target"); a record matches entities carrying all its labels, e.g.
   * forget("replica", { app: "web", replica: "web-2" }). Returns how many entities went.
   */
  forget(kind: EntityKind, key: string | Readonly<Record<string, string>>): number;
  /** Pushes to OTLP now (no-op without OTLP). */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
  /** Where OTLP pushes go, after config and env were merged; undefined when push is off. */
  readonly otlp: { readonly url: string; readonly intervalMs: number } | undefined;
}

const DEFAULT_EXPIRE_AFTER_MS = 5 * 60_000;
const SCOPE = "polis";
/** How long shutdown waits for the final OTLP export before letting the agent exit anyway. */
const SHUTDOWN_GRACE_MS = 2000;
const MEMORY_STATES = ["used", "free", "cached"] as const;
/** Seconds; admin API answers are mostly sub-millisecond reads, with rolling restarts at the far end. */
const API_DURATION_BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60];
/** A collector that is down fails every push: say so once a minute, with how many failed, not once per push. */
const EXPORT_FAILURE_REPORT_MS = 60_000;
/** Label values that come from the network are capped to a known set, so a client cannot mint series. */
const DNS_TYPES = new Set(["A", "AAAA", "SRV", "ANY", "CNAME", "TXT", "NS", "SOA", "PTR", "MX"]);
const DNS_RCODES = new Set(["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]);

export function createTelemetry(opts: CreateTelemetryOptions): Telemetry {
  const clock = opts.clock ?? wallClock;
  const now = () => clock.now();
  const cpuCount = Math.max(1, opts.cpuCount ?? availableParallelism());
  const config = resolveTelemetryConfig(opts);
  const resource = defaultResource().merge(resourceFromAttributes(config.resource));
  const serviceName = config.resource["service.name"] ?? SCOPE;
  const store = createMetricStore({ now, expireAfterMs: opts.expireAfterMs ?? DEFAULT_EXPIRE_AFTER_MS, cpuCount });
  const sampleSelf = createSelfSampler();

  const producer = createStoreProducer({
    store,
    resource,
    scope: { name: SCOPE, version: opts.serviceVersion },
    now,
    beforeCollect: () => {
      store.expire();
      const self = sampleSelf();
      store.procStats({ app: serviceName, replica: opts.instanceId || String(process.pid), pid: process.pid, ...self });
    },
  });

  const readers: IMetricReader[] = [];
  const prometheus = opts.prometheus ? new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers: [producer] }) : undefined;
  if (prometheus) readers.push(prometheus);
  // Same settings as the exporter's own: no scope labels, target_info kept.
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  let countExportFailure = () => {};
  if (config.otlp) {
    const otlpExporter = new OTLPMetricExporter({
      url: config.otlp.url,
      headers: config.otlp.headers,
      timeoutMillis: config.otlp.timeoutMs,
      // The store is cumulative; keep the SDK instruments consistent with it.
      temporalityPreference: AggregationTemporality.CUMULATIVE,
    });
    const url = config.otlp.url;
    const exporter = observeExporter(otlpExporter, {
      onFailure: () => countExportFailure(),
      report: (r) => opts.log?.warn("OTLP metrics push failed", { endpoint: url, failures: r.failures, error: r.error, reportEveryMs: EXPORT_FAILURE_REPORT_MS }),
      reportEveryMs: EXPORT_FAILURE_REPORT_MS,
      now,
    });
    opts.log?.info("OTLP metrics push on", { endpoint: url, intervalMs: config.otlp.intervalMs });
    readers.push(
      new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: config.otlp.intervalMs,
        exportTimeoutMillis: config.otlp.timeoutMs,
        metricProducers: [producer],
      }),
    );
  }
  const provider = new MeterProvider({ resource, readers });
  const meter = provider.getMeter(SCOPE, opts.serviceVersion);

  const events: Counter = meter.createCounter(METRICS.events.otel, { unit: METRICS.events.unit, description: METRICS.events.description });
  const dropped: Counter = meter.createCounter(METRICS.eventsDropped.otel, {
    unit: METRICS.eventsDropped.unit,
    description: METRICS.eventsDropped.description,
  });
  // Exported at 0 from the start: a board or alert on them should see 0, not "no data", until the first one.
  dropped.add(0);
  const exportFailures: Counter = meter.createCounter(METRICS.otlpExportFailures.otel, { unit: METRICS.otlpExportFailures.unit, description: METRICS.otlpExportFailures.description });
  if (config.otlp) {
    exportFailures.add(0);
    countExportFailure = () => exportFailures.add(1);
  }
  const apiRequests: Counter = meter.createCounter(METRICS.apiRequests.otel, { unit: METRICS.apiRequests.unit, description: METRICS.apiRequests.description });
  const apiDuration: Histogram = meter.createHistogram(METRICS.apiDuration.otel, {
    unit: METRICS.apiDuration.unit,
    description: METRICS.apiDuration.description,
    advice: { explicitBucketBoundaries: API_DURATION_BOUNDS },
  });
  const notifications: Counter = meter.createCounter(METRICS.alertNotifications.otel, { unit: METRICS.alertNotifications.unit, description: METRICS.alertNotifications.description });
  const dnsQueries: Counter = meter.createCounter(METRICS.dnsQueries.otel, { unit: METRICS.dnsQueries.unit, description: METRICS.dnsQueries.description });
  // Attribute objects are cached per distinct label set (bounded: routes, methods, statuses, DNS types), so a request allocates none.
  const attrCache = new Map<string, Attributes>();
  const cachedAttrs = (key: string, make: () => Attributes): Attributes => {
    let a = attrCache.get(key);
    if (a === undefined) {
      a = make();
      attrCache.set(key, a);
    }
    return a;
  };

  const dnsAttrs = new Map<string, Map<string, { udp: Attributes; tcp: Attributes }>>();

  // Event types are a closed set in code; attribute objects are reused so event() allocates nothing.
  const eventAttrs = new Map<string, { type: string }>();

  const host = opts.hostSample === false ? undefined : createHostSampler(opts.hostSample ?? sampleHost, now);
  if (host) {
    const gauge = (m: (typeof METRICS)[keyof typeof METRICS]) =>
      meter.createObservableGauge(m.otel, { unit: m.unit, description: m.description, valueType: ValueType.DOUBLE });
    const cpu = gauge(METRICS.systemCpu);
    const usage = gauge(METRICS.systemMemoryUsage);
    const utilization = gauge(METRICS.systemMemoryUtilization);
    meter.addBatchObservableCallback(
      async function observeHost(result) {
        const s = await host.get();
        if (s === undefined) return;
        result.observe(cpu, s.cpu);
        for (const state of MEMORY_STATES) {
          const bytes = s.memory[state];
          result.observe(usage, bytes, { "system.memory.state": state });
          if (s.memory.total > 0) result.observe(utilization, bytes / s.memory.total, { "system.memory.state": state });
        }
      },
      [cpu, usage, utilization],
    );
  }

  let stopped: Promise<void> | undefined;

  return {
    otlp: config.otlp ? { url: config.otlp.url, intervalMs: config.otlp.intervalMs } : undefined,

    prometheusText: async function prometheusText() {
      if (!prometheus || stopped) return "";
      const { resourceMetrics } = await prometheus.collect();
      return serializer.serialize(withPrometheusNames(resourceMetrics));
    },

    proxyStats: function proxyStats(s) {
      if (!stopped) store.proxyStats(s);
    },
    procStats: function procStats(s) {
      if (!stopped) store.procStats(s);
    },
    replicas: function replicas(app, desired, ready) {
      if (!stopped) store.replicaCounts(app, desired, ready);
    },
    restart: function restart(app, reason) {
      if (!stopped) store.restart(app, reason);
    },
    plannedStop: function plannedStop(app, reason) {
      if (!stopped) store.plannedStop(app, reason);
    },
    retainEndpoints: function retainEndpoints(balancer, live) {
      return store.retainEndpoints(balancer, live);
    },
    apiRequest: function apiRequest(method, route, status, scheme, seconds) {
      if (stopped) return;
      const attrs = cachedAttrs(`${method} ${route} ${status} ${scheme}`, () => ({
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR_HTTP_ROUTE]: route,
        [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
        [ATTR_URL_SCHEME]: scheme,
      }));
      apiRequests.add(1, attrs);
      if (Number.isFinite(seconds) && seconds >= 0) apiDuration.record(seconds, attrs);
    },
    dnsQuery: function dnsQuery(type, rcode, transport) {
      if (stopped) return;
      const t = DNS_TYPES.has(type) ? type : "other";
      const r = DNS_RCODES.has(rcode) ? rcode : "other";
      // Per message: nested lookups on the (bounded) label values, no key string built.
      let byRcode = dnsAttrs.get(t);
      if (byRcode === undefined) dnsAttrs.set(t, (byRcode = new Map()));
      let pair = byRcode.get(r);
      if (pair === undefined) {
        const make = (tr: "udp" | "tcp"): Attributes => ({ "dns.question.type": t, "dns.response.code": r, [ATTR_NETWORK_TRANSPORT]: tr });
        byRcode.set(r, (pair = { udp: make("udp"), tcp: make("tcp") }));
      }
      dnsQueries.add(1, pair[transport]);
    },
    healthResult: function healthResult(check, target, status, latencyMs) {
      if (!stopped) store.healthResult(check, target, status, latencyMs);
    },
    scalingDecision: function scalingDecision(app, action, _current, desired) {
      if (!stopped) store.scalingDecision(app, action, desired);
    },
    scalingEvaluated: function scalingEvaluated(app, desired) {
      if (!stopped) store.scalingEvaluated(app, desired);
    },
    observeAlerts: function observeAlerts(read) {
      const g = meter.createObservableGauge(METRICS.alerts.otel, { unit: METRICS.alerts.unit, description: METRICS.alerts.description, valueType: ValueType.INT });
      g.addCallback((r) => {
        for (const x of read()) r.observe(x.count, { state: x.state, severity: x.severity });
      });
    },
    observeCluster: function observeCluster(read) {
      const g = (m: (typeof METRICS)[keyof typeof METRICS], type: ValueType) => meter.createObservableGauge(m.otel, { unit: m.unit, description: m.description, valueType: type });
      const members = g(METRICS.clusterMembers, ValueType.INT);
      const stale = g(METRICS.clusterStale, ValueType.INT);
      const rtt = g(METRICS.clusterRtt, ValueType.DOUBLE);
      const lag = g(METRICS.clusterWatchLag, ValueType.DOUBLE);
      const remote = g(METRICS.clusterRemoteEndpoints, ValueType.INT);
      const resyncs = meter.createObservableCounter(METRICS.clusterResyncs.otel, { unit: METRICS.clusterResyncs.unit, description: METRICS.clusterResyncs.description, valueType: ValueType.INT });
      meter.addBatchObservableCallback(
        function observeClusterLink(r) {
          const s = read();
          if (!s) return;
          for (const status of ["alive", "suspect", "left", "failed"]) r.observe(members, s.members[status] ?? 0, { status });
          r.observe(stale, s.stale ? 1 : 0);
          if (s.rttMs !== undefined) r.observe(rtt, s.rttMs / 1000);
          if (s.watchLagMs !== undefined) r.observe(lag, s.watchLagMs / 1000);
          r.observe(remote, s.remoteEndpoints);
          r.observe(resyncs, s.resyncs);
        },
        [members, stale, rtt, lag, remote, resyncs],
      );
    },
    alertNotification: function alertNotification(receiver, outcome) {
      if (!stopped) notifications.add(1, cachedAttrs(`n|${receiver}|${outcome}`, () => ({ receiver, outcome })));
    },
    eventBusDrop: function eventBusDrop(n) {
      if (!stopped && n > 0) dropped.add(n);
    },
    event: function event(type) {
      if (stopped) return;
      let attrs = eventAttrs.get(type);
      if (attrs === undefined) {
        attrs = { type };
        eventAttrs.set(type, attrs);
      }
      events.add(1, attrs);
    },
    forget: function forget(kind, key) {
      return store.forget(kind, key);
    },

    forceFlush: async function forceFlush() {
      if (!stopped) await provider.forceFlush();
    },
    shutdown: function shutdown() {
      stopped ??= (async () => {
        try {
          // The last export goes to an endpoint that may be down; the exporter would retry it for its whole timeout
          // and hold the agent's exit past its shutdown bound. Give it a short, fixed grace instead.
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([provider.shutdown(), new Promise<void>((r) => (timer = setTimeout(r, SHUTDOWN_GRACE_MS)))]).finally(() => clearTimeout(timer));
        } finally {
          await host?.settle();
        }
      })();
      return stopped;
    },
  };
}
