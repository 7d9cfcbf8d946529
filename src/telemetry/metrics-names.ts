// Every metric Polis exports: OpenTelemetry name, unit, kind, and the name it gets in the Prometheus exposition.
import { Reason } from "../core/supervision/restart-policy.ts";
import { STOP_REASONS, type StopReason } from "../protocol/procs.ts";

export type MetricKind = "counter" | "gauge" | "histogram";

export interface MetricName {
  readonly otel: string;
  readonly unit: string;
  readonly kind: MetricKind;
  readonly description: string;
}

function m(otel: string, unit: string, kind: MetricKind, description: string): MetricName {
  return { otel, unit, kind, description };
}

export const METRICS = {
  requestDuration: m("http.server.request.duration", "s", "histogram", "HTTP request duration through the balancer, from pre-aggregated worker buckets."),
  sessionDuration: m("polis.balancer.session.duration", "s", "histogram", "TCP/UDP session duration through the balancer, from pre-aggregated worker buckets."),
  requests: m("polis.balancer.requests", "{request}", "counter", "Requests (HTTP) or sessions (TCP/UDP) proxied to an endpoint."),
  responses: m("polis.balancer.responses", "{response}", "counter", "HTTP responses from an endpoint by status class."),
  errors: m("polis.balancer.errors", "{error}", "counter", "Proxy errors (connect failures, timeouts, resets) per endpoint."),
  retries: m("polis.balancer.retries", "{retry}", "counter", "Retries sent to an endpoint."),
  ejections: m("polis.balancer.ejections", "{ejection}", "counter", "Outlier ejections of an endpoint."),
  picks: m("polis.balancer.picks", "{pick}", "counter", "Times the picker chose an endpoint (requests plus retries unless reported)."),
  bytes: m("polis.balancer.bytes", "By", "counter", "Bytes proxied, by direction (in: from clients, out: to clients)."),
  active: m("polis.balancer.active_connections", "{connection}", "gauge", "Connections open to an endpoint."),
  processCpu: m("process.cpu.utilization", "1", "gauge", "CPU used by a replica (or the agent) as a fraction of all host CPUs."),
  processMemory: m("process.memory.usage", "By", "gauge", "Resident set size of a replica (or the agent)."),
  replicasDesired: m("polis.replicas.desired", "{replica}", "gauge", "Replicas an app should have."),
  replicasReady: m("polis.replicas.ready", "{replica}", "gauge", "Replicas of an app that are ready."),
  restarts: m("polis.restarts", "{restart}", "counter", "Unplanned replica restarts (the replica ended on its own, or was killed for memory, watchdog or readiness), by why it ended."),
  plannedStops: m("polis.planned_stops", "{stop}", "counter", "Planned replica stops (rolling restart, scale-down, operator restart, shutdown), by reason; not restarts."),
  healthResults: m("polis.health.check.results", "{result}", "counter", "Health check results by status."),
  healthDuration: m("polis.health.check.duration", "s", "histogram", "Health check latency."),
  healthStatus: m("polis.health.status", "{status}", "gauge", "Current health status: 0 passing, 1 warning, 2 critical."),
  scalingDecisions: m("polis.scaling.decisions", "{decision}", "counter", "Scaling decisions by action."),
  scalingDesired: m("polis.scaling.desired_replicas", "{replica}", "gauge", "Replica count the last scaling decision asked for."),
  events: m("polis.events", "{event}", "counter", "Events published on the agent's event bus, by type."),
  eventsDropped: m("polis.events.dropped", "{event}", "counter", "Events dropped because a subscriber was too slow."),
  alerts: m("polis.alerts", "{alert}", "gauge", "Alerts kept by the agent, by state (firing, acknowledged, silenced, resolved) and severity."),
  alertNotifications: m("polis.alert.notifications", "{notification}", "counter", "Alert webhook notifications by receiver and outcome (sent, failed: given up after its attempts, dropped: the queue was full)."),
  clusterMembers: m("polis.cluster.members", "{node}", "gauge", "Cluster nodes this agent knows, by status (alive, suspect, left, failed)."),
  clusterStale: m("polis.cluster.stale", "{state}", "gauge", "1 while this agent serves a last known cluster catalog (etcd unreachable or not yet synced), else 0."),
  clusterRtt: m("polis.cluster.etcd.rtt", "s", "gauge", "Round trip of the last lease keepalive to etcd."),
  clusterWatchLag: m("polis.cluster.watch.lag", "s", "gauge", "From this agent's last node-record write to seeing it on its own watch (put to watch event)."),
  clusterResyncs: m("polis.cluster.resyncs", "{resync}", "counter", "Full reads of the cluster prefix (each session start, each compacted watch)."),
  clusterRemoteEndpoints: m("polis.cluster.remote_endpoints", "{endpoint}", "gauge", "Other nodes' endpoints in this agent's catalog."),
  apiRequests: m("polis.api.requests", "{request}", "counter", "Admin API requests by route and status."),
  apiDuration: m("polis.api.request.duration", "s", "histogram", "Admin API request duration by route and status."),
  dnsQueries: m("polis.dns.queries", "{query}", "counter", "DNS queries answered, by question type, response code and transport."),
  otlpExportFailures: m("polis.telemetry.export.failures", "{export}", "counter", "OTLP metric pushes that failed."),
  systemCpu: m("system.cpu.utilization", "1", "gauge", "Host CPU busy fraction (1 - idle)."),
  systemMemoryUsage: m("system.memory.usage", "By", "gauge", "Host memory by state (used, free, cached)."),
  systemMemoryUtilization: m("system.memory.utilization", "1", "gauge", "Host memory by state as a fraction of the total."),
} as const;

/**
 * The reasons polis.restarts and polis.planned_stops can carry, exported at 0 for every app from its first report
 * so a board or an alert sees 0 rather than "no data" until the first one (the restart policy's and the process
 * manager's reason constants; one outside these lists still counts, it is just not there from the start).
 */
export const RESTART_REASONS = [
  Reason.EXIT_FAILURE, Reason.KILLED_BY_SIGNAL, Reason.SPAWN_FAILED, Reason.MEMORY_LIMIT, Reason.WATCHDOG_TIMEOUT, Reason.READINESS_TIMEOUT, Reason.VANISHED, Reason.RESTART_ALWAYS,
] as const satisfies readonly Reason[];
/** Actions polis.scaling.decisions counts ("none" is an evaluation, not a decision), at 0 from an app's first evaluation. */
export const SCALING_ACTIONS = ["scale-up", "scale-down"] as const;
export const PLANNED_STOP_REASONS: readonly StopReason[] = STOP_REASONS;

/** OpenTelemetry unit -> Prometheus unit suffix (the OTel-to-Prometheus compatibility rules); "{...}" annotations get none. */
const UNIT_SUFFIX: Readonly<Record<string, string>> = { s: "seconds", ms: "milliseconds", By: "bytes", "1": "ratio" };

/**
 * The name a metric has in the /metrics text, before the exporter adds "_total" to a monotonic sum: dots become
 * underscores and the unit becomes a suffix (seconds, bytes; "1" is "ratio" for gauges) unless the name ends with it.
 * @opentelemetry/exporter-prometheus 0.223 adds no unit suffix itself, so the exposition renames with this.
 */
export function prometheusBaseName(otel: string, unit: string, gauge: boolean): string {
  let base = otel.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/_+/g, "_");
  const suffix = UNIT_SUFFIX[unit];
  if (suffix !== undefined && (suffix !== "ratio" || gauge) && !base.endsWith(`_${suffix}`)) base = `${base}_${suffix}`;
  return base;
}

/** The full exposition name: the base name, with "_total" for counters; a histogram also has _bucket, _sum, _count. */
export function prometheusName(metric: MetricName): string {
  const base = prometheusBaseName(metric.otel, metric.unit, metric.kind === "gauge");
  return metric.kind === "counter" && !base.endsWith("_total") ? `${base}_total` : base;
}

/** Every series name that can appear in the exposition (histograms expanded), plus the exporter's target_info. */
export function prometheusSeriesNames(): string[] {
  const out = ["target_info"];
  for (const metric of Object.values(METRICS)) {
    const name = prometheusName(metric);
    if (metric.kind === "histogram") out.push(`${name}_bucket`, `${name}_sum`, `${name}_count`);
    else out.push(name);
  }
  return out;
}
