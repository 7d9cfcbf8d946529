// Maps the config's balancers onto the specs the balancer workers run (defaults that depend on other sections
// resolved here), as apps.ts and checks.ts do for the procs and health workers.
import type { BalancerSpec } from "../protocol/balancer.ts";
import type { BalancerConfig, Config } from "./schema.ts";
import { resolveCount } from "./semantics.ts";

/** How long a first request to an app that scales to zero is held for a replica (Knative's activator does this). */
export const SCALE_FROM_ZERO_HOLD_MS = 30_000;

export function toBalancerSpec(b: BalancerConfig, config: Config, cores: number): BalancerSpec {
  const app = b.backends.app ? config.apps.find((a) => a.name === b.backends.app) : undefined;
  const scalesToZero = app !== undefined && typeof app.replicas === "object" && resolveCount(app.replicas.min, cores) === 0;
  return {
    name: b.name,
    listen: b.listen,
    protocol: b.protocol,
    algorithm: b.algorithm,
    hash_key: { source: b.hash_key.source, ...(b.hash_key.name !== undefined ? { name: b.hash_key.name } : {}) },
    ...(b.hash_balance_factor !== undefined ? { hash_balance_factor: b.hash_balance_factor } : {}),
    ring_hash: { points_per_weight: b.ring_hash.points_per_weight, max_points: b.ring_hash.max_points },
    maglev: { table_size: b.maglev.table_size },
    timeouts: { connect: b.timeouts.connect, request: b.timeouts.request, idle: b.timeouts.idle, header: b.timeouts.header },
    retries: { max: b.retries.max, budget_percent: b.retries.budget_percent, min_per_second: b.retries.min_per_second },
    outlier: {
      enabled: b.outlier.enabled,
      consecutive_5xx: b.outlier.consecutive_5xx,
      consecutive_gateway_failure: b.outlier.consecutive_gateway_failure,
      base_ejection_time: b.outlier.base_ejection_time,
      max_ejection_time: b.outlier.max_ejection_time,
      max_ejection_percent: b.outlier.max_ejection_percent,
    },
    slow_start: { window: b.slow_start.window, min_weight_percent: b.slow_start.min_weight_percent, aggression: b.slow_start.aggression },
    ...(b.max_connections_per_endpoint !== undefined ? { max_connections_per_endpoint: b.max_connections_per_endpoint } : {}),
    ...(b.sticky ? { sticky: { cookie: b.sticky.cookie, ...(b.sticky.ttl !== undefined ? { ttl: b.sticky.ttl } : {}) } } : {}),
    drain_timeout: b.drain_timeout,
    hold_when_empty: b.hold_when_empty ?? (scalesToZero ? SCALE_FROM_ZERO_HOLD_MS : 0),
    panic_threshold: b.panic_threshold,
    warning_weight: b.warning_weight,
    udp_idle_timeout: b.udp_idle_timeout,
    ...(b.tls ? { tls: { cert_file: b.tls.cert_file, key_file: b.tls.key_file } } : {}),
    ...(b.upstream_tls
      ? { upstream_tls: { verify: b.upstream_tls.verify, ...(b.upstream_tls.ca_file !== undefined ? { ca_file: b.upstream_tls.ca_file } : {}), ...(b.upstream_tls.servername !== undefined ? { servername: b.upstream_tls.servername } : {}) } }
      : {}),
    upstream_protocol: b.upstream_protocol,
    ...(b.protocol === "http" && b.http2.enabled ? { http2: { max_concurrent_streams: b.http2.max_concurrent_streams, upstream_max_streams: b.http2.upstream_max_streams } } : {}),
  };
}
