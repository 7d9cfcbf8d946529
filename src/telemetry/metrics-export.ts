// What sits between the SDK and the outside: Prometheus names with unit suffixes, and an OTLP exporter that
// counts and reports (rate-limited) the pushes that fail instead of dropping them silently.
import type { PushMetricExporter, ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { DataPointType } from "@opentelemetry/sdk-metrics";
import { prometheusBaseName } from "./metrics-names.ts";

/** A copy of `rm` whose metric names are the Prometheus base names (the serializer still adds "_total"). */
export function withPrometheusNames(rm: ResourceMetrics): ResourceMetrics {
  return {
    resource: rm.resource,
    scopeMetrics: rm.scopeMetrics.map((sm) => ({
      scope: sm.scope,
      metrics: sm.metrics.map((m) => ({
        ...m,
        descriptor: { ...m.descriptor, name: prometheusBaseName(m.descriptor.name, m.descriptor.unit, m.dataPointType === DataPointType.GAUGE) },
      })),
    })),
  } as ResourceMetrics;
}

export interface ExportFailureReport {
  readonly failures: number;
  readonly error: string;
}

export interface ObservedExporterOptions {
  /** Counts one failed push. */
  readonly onFailure: () => void;
  /** Told at most once per `reportEveryMs` how many pushes failed since the last report, with the latest error. */
  readonly report: (r: ExportFailureReport) => void;
  readonly reportEveryMs: number;
  readonly now: () => number;
}

/** Wraps an exporter: every failed export is counted; reports of them are rate-limited so a down collector cannot flood the log. */
export function observeExporter(inner: PushMetricExporter, opts: ObservedExporterOptions): PushMetricExporter {
  let unreported = 0;
  let lastReport = -Infinity;
  const failed = (error: unknown) => {
    opts.onFailure();
    unreported++;
    const now = opts.now();
    if (now - lastReport < opts.reportEveryMs) return;
    lastReport = now;
    opts.report({ failures: unreported, error: error instanceof Error ? error.message : String(error ?? "unknown error") });
    unreported = 0;
  };
  const wrapped: PushMetricExporter = {
    export: function exportObserved(metrics, resultCallback) {
      try {
        inner.export(metrics, (result) => {
          if (result.code !== 0) failed(result.error);
          resultCallback(result);
        });
      } catch (e) {
        failed(e);
        resultCallback({ code: 1, error: e instanceof Error ? e : new Error(String(e)) });
      }
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
  };
  if (inner.selectAggregationTemporality) wrapped.selectAggregationTemporality = inner.selectAggregationTemporality.bind(inner);
  if (inner.selectAggregation) wrapped.selectAggregation = inner.selectAggregation.bind(inner);
  return wrapped;
}
