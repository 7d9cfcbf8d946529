// Turns the metric store into OTel MetricData on each collect, so both readers (Prometheus, OTLP) see it.
//
// Registered with each MetricReader through `metricProducers`; the reader merges it with the SDK's own
// instruments (events, host gauges). Everything here is cumulative, whatever the reader's preference.
import { type HrTime, type Attributes, ValueType } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  type CollectionResult,
  type DataPoint,
  DataPointType,
  type Histogram,
  type MetricData,
  type MetricProducer,
} from "@opentelemetry/sdk-metrics";
import type { BucketHistogram } from "./metrics-histogram.ts";
import { METRICS, type MetricName } from "./metrics-names.ts";
import type { Attrs, Cell, MetricStore } from "./metrics-store.ts";

export function hrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

function descriptor(metric: MetricName, valueType: ValueType) {
  return { name: metric.otel, description: metric.description, unit: metric.unit, valueType };
}

type NumberPoint = DataPoint<number>;

function point(attrs: Attrs, startMs: number, end: HrTime, value: number): NumberPoint {
  return { attributes: attrs as Attributes, startTime: hrTime(startMs), endTime: end, value };
}

function histPoint(attrs: Attrs, startMs: number, end: HrTime, h: BucketHistogram): DataPoint<Histogram> {
  // Copied: the OTLP exporter serializes after an await, while ingest keeps adding.
  const value: Histogram = {
    buckets: { boundaries: h.boundaries.slice(), counts: h.counts.slice() },
    sum: h.sum,
    count: h.count,
  };
  return { attributes: attrs as Attributes, startTime: hrTime(startMs), endTime: end, value };
}

// Values are whatever workers sent (may be fractional), hence DOUBLE except for our own +1 counters.
function sum(metric: MetricName, points: NumberPoint[], valueType = ValueType.DOUBLE): MetricData {
  return {
    descriptor: descriptor(metric, valueType),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: points,
  };
}

function gauge(metric: MetricName, points: NumberPoint[], valueType = ValueType.DOUBLE): MetricData {
  return {
    descriptor: descriptor(metric, valueType),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: points,
  };
}

function histogram(metric: MetricName, points: DataPoint<Histogram>[]): MetricData {
  return {
    descriptor: descriptor(metric, ValueType.DOUBLE),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: points,
  };
}

function cells(out: NumberPoint[], list: Iterable<Cell>, end: HrTime): void {
  for (const c of list) out.push(point(c.attrs, c.startMs, end, c.value));
}

/** Builds every store-backed metric as of `nowMs`; metrics without any point are left out. */
export function buildStoreMetrics(store: MetricStore, nowMs: number): MetricData[] {
  const end = hrTime(nowMs);
  const p = {
    requests: [] as NumberPoint[],
    responses: [] as NumberPoint[],
    errors: [] as NumberPoint[],
    retries: [] as NumberPoint[],
    ejections: [] as NumberPoint[],
    picks: [] as NumberPoint[],
    bytes: [] as NumberPoint[],
    active: [] as NumberPoint[],
    cpu: [] as NumberPoint[],
    memory: [] as NumberPoint[],
    desired: [] as NumberPoint[],
    ready: [] as NumberPoint[],
    restarts: [] as NumberPoint[],
    plannedStops: [] as NumberPoint[],
    decisions: [] as NumberPoint[],
    scalingDesired: [] as NumberPoint[],
    results: [] as NumberPoint[],
    status: [] as NumberPoint[],
  };
  const http: DataPoint<Histogram>[] = [];
  const session: DataPoint<Histogram>[] = [];
  const health: DataPoint<Histogram>[] = [];

  for (const e of store.endpoints.values()) {
    p.requests.push(point(e.attrs, e.startMs, end, e.requests));
    p.errors.push(point(e.attrs, e.startMs, end, e.errors));
    p.retries.push(point(e.attrs, e.startMs, end, e.retries));
    p.ejections.push(point(e.attrs, e.startMs, end, e.ejections));
    p.picks.push(point(e.attrs, e.startMs, end, e.picks));
    p.active.push(point(e.attrs, e.startMs, end, e.active));
    cells(p.responses, e.responses, end);
    cells(p.bytes, [e.bytes.in, e.bytes.out], end);
    if (e.latency !== undefined) (e.protocol === "http" ? http : session).push(histPoint(e.attrs, e.latencyStartMs, end, e.latency));
  }
  for (const r of store.replicas.values()) {
    p.cpu.push(point(r.attrs, r.seenMs, end, r.cpu));
    p.memory.push(point(r.attrs, r.seenMs, end, r.rss));
  }
  for (const a of store.apps.values()) {
    if (a.desired !== undefined) p.desired.push(point(a.attrs, a.startMs, end, a.desired));
    if (a.ready !== undefined) p.ready.push(point(a.attrs, a.startMs, end, a.ready));
    if (a.scalingDesired !== undefined) p.scalingDesired.push(point(a.attrs, a.startMs, end, a.scalingDesired));
    cells(p.restarts, a.restarts.values(), end);
    cells(p.plannedStops, a.plannedStops.values(), end);
    cells(p.decisions, a.decisions.values(), end);
  }
  for (const c of store.checks.values()) {
    cells(p.results, c.results, end);
    p.status.push(point(c.attrs, c.startMs, end, c.status));
    health.push(histPoint(c.attrs, c.startMs, end, c.duration));
  }

  const all: MetricData[] = [
    histogram(METRICS.requestDuration, http),
    histogram(METRICS.sessionDuration, session),
    sum(METRICS.requests, p.requests),
    sum(METRICS.responses, p.responses),
    sum(METRICS.errors, p.errors),
    sum(METRICS.retries, p.retries),
    sum(METRICS.ejections, p.ejections),
    sum(METRICS.picks, p.picks),
    sum(METRICS.bytes, p.bytes),
    gauge(METRICS.active, p.active),
    gauge(METRICS.processCpu, p.cpu),
    gauge(METRICS.processMemory, p.memory),
    gauge(METRICS.replicasDesired, p.desired),
    gauge(METRICS.replicasReady, p.ready),
    sum(METRICS.restarts, p.restarts, ValueType.INT),
    sum(METRICS.plannedStops, p.plannedStops, ValueType.INT),
    sum(METRICS.healthResults, p.results, ValueType.INT),
    histogram(METRICS.healthDuration, health),
    gauge(METRICS.healthStatus, p.status, ValueType.INT),
    sum(METRICS.scalingDecisions, p.decisions, ValueType.INT),
    gauge(METRICS.scalingDesired, p.scalingDesired),
  ];
  return all.filter((m) => m.dataPoints.length > 0);
}

export interface StoreProducerOptions {
  readonly store: MetricStore;
  readonly resource: Resource;
  readonly scope: { readonly name: string; readonly version?: string };
  readonly now: () => number;
  /** Runs before each collect (expiry, refreshing the agent's own process sample). */
  readonly beforeCollect?: () => void;
}

export function createStoreProducer(opts: StoreProducerOptions): MetricProducer {
  return {
    collect: async function collectStore(): Promise<CollectionResult> {
      opts.beforeCollect?.();
      return {
        resourceMetrics: {
          resource: opts.resource,
          scopeMetrics: [{ scope: opts.scope, metrics: buildStoreMetrics(opts.store, opts.now()) }],
        },
        errors: [],
      };
    },
  };
}
