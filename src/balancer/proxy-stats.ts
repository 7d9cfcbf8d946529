// Counters for one listener or one endpoint: plain numbers bumped on the hot path, read as snapshots.

import type { StatsSnapshot } from "../protocol/balancer.ts";
import { LatencyHistogram } from "./latency-histogram.ts";

export type { StatsSnapshot };

export class ProxyStats {
  requests = 0;
  readonly responses = new Float64Array(6);
  errors = 0;
  retries = 0;
  bytesIn = 0;
  bytesOut = 0;
  active = 0;
  readonly latency = new LatencyHistogram();

  response(status: number): void {
    const c = (status / 100) | 0;
    this.responses[c >= 1 && c <= 5 ? c : 5]++;
  }

  snapshot(): StatsSnapshot {
    const h = this.latency;
    const r = this.responses;
    return {
      requests: this.requests,
      responses: [0, r[1], r[2], r[3], r[4], r[5]],
      errors: this.errors,
      retries: this.retries,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      active: this.active,
      latency: {
        count: h.total,
        meanMs: h.total ? h.sumUs / h.total / 1000 : 0,
        p50Ms: h.quantileMs(0.5),
        p95Ms: h.quantileMs(0.95),
        p99Ms: h.quantileMs(0.99),
      },
      buckets: sparse(h.counts),
      sumUs: h.sumUs,
    };
  }

  /** Zero the counters for the next interval; the `active` gauge is a level, not a count, so it stays. */
  reset(): void {
    this.requests = 0;
    this.responses.fill(0);
    this.errors = 0;
    this.retries = 0;
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.latency.reset();
  }
}

function sparse(counts: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) out.push(i, counts[i]!);
  return out;
}

export interface ProxyStatsSnapshot {
  listener: StatsSnapshot;
  endpoints: Record<string, StatsSnapshot>;
}

/** Snapshot every counter, then zero them when `reset` is set (the per-second stats batch). */
export function snapshotAll(listener: ProxyStats, endpoints: Map<string, ProxyStats>, reset: boolean): ProxyStatsSnapshot {
  const out: ProxyStatsSnapshot = { listener: listener.snapshot(), endpoints: {} };
  for (const [id, s] of endpoints) out.endpoints[id] = s.snapshot();
  if (reset) {
    listener.reset();
    for (const s of endpoints.values()) s.reset();
  }
  return out;
}
