// Merges the balancer workers' per-second stats (sums counters, adds fine histograms) into one view per balancer.
import { bucketUpperUs } from "../balancer/latency-histogram.ts";
import type { EndpointStats, StatsSnapshot } from "../protocol/balancer.ts";

export interface MergedStats extends StatsCounts {
  active: number;
  latency: { count: number; meanMs: number; p50Ms: number; p95Ms: number; p99Ms: number };
  /** Fine histogram, sparse [bucket, count, ...]. */
  buckets: number[];
  sumUs: number;
}

export function emptyMerged(): MergedStats {
  return { requests: 0, responses: { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 }, errors: 0, retries: 0, ejections: 0, bytesIn: 0, bytesOut: 0, active: 0, latency: { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0 }, buckets: [], sumUs: 0 };
}

function quantile(counts: Map<number, number>, total: number, q: number): number {
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const i of [...counts.keys()].sort((a, b) => a - b)) {
    seen += counts.get(i)!;
    if (seen >= rank) return bucketUpperUs(i) / 1000;
  }
  return 0;
}

/** Adds snapshots of the same interval from several workers. */
export function merge(parts: ReadonlyArray<StatsSnapshot | EndpointStats>): MergedStats {
  const m = emptyMerged();
  const counts = new Map<number, number>();
  for (const p of parts) {
    m.requests += p.requests;
    m.responses["1xx"] += p.responses[1];
    m.responses["2xx"] += p.responses[2];
    m.responses["3xx"] += p.responses[3];
    m.responses["4xx"] += p.responses[4];
    m.responses["5xx"] += p.responses[5];
    m.errors += p.errors;
    m.retries += p.retries;
    m.ejections += "ejections" in p ? p.ejections : 0;
    m.bytesIn += p.bytesIn;
    m.bytesOut += p.bytesOut;
    m.active += p.active;
    m.sumUs += p.sumUs;
    for (let i = 0; i < p.buckets.length; i += 2) counts.set(p.buckets[i]!, (counts.get(p.buckets[i]!) ?? 0) + p.buckets[i + 1]!);
  }
  let total = 0;
  for (const c of counts.values()) total += c;
  m.latency = { count: total, meanMs: total ? m.sumUs / total / 1000 : 0, p50Ms: quantile(counts, total, 0.5), p95Ms: quantile(counts, total, 0.95), p99Ms: quantile(counts, total, 0.99) };
  for (const [i, c] of [...counts].sort((a, b) => a[0] - b[0])) m.buckets.push(i, c);
  return m;
}

/** Export bounds (ms) for OpenTelemetry/Prometheus histograms. */
export const EXPORT_BOUNDS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** Folds a fine histogram into the export buckets (each fine bucket goes where its upper bound falls). */
export function toExportHistogram(m: MergedStats): { bounds: number[]; counts: number[]; sum: number; count: number } {
  const counts = new Array<number>(EXPORT_BOUNDS_MS.length + 1).fill(0);
  for (let i = 0; i < m.buckets.length; i += 2) {
    const upperMs = bucketUpperUs(m.buckets[i]!) / 1000;
    let j = 0;
    while (j < EXPORT_BOUNDS_MS.length && upperMs > EXPORT_BOUNDS_MS[j]!) j++;
    counts[j]! += m.buckets[i + 1]!;
  }
  return { bounds: EXPORT_BOUNDS_MS, counts, sum: m.sumUs / 1000, count: m.latency.count };
}

/** Counters of a stats view: requests, responses by class, errors, retries, ejections, bytes. */
export interface StatsCounts {
  requests: number;
  responses: { "1xx": number; "2xx": number; "3xx": number; "4xx": number; "5xx": number };
  errors: number;
  retries: number;
  ejections: number;
  bytesIn: number;
  bytesOut: number;
}

/** What the API shows for a balancer or an endpoint: lifetime totals and rates over a recent window, each named so. */
export interface StatsView {
  /** Open connections now (a gauge). */
  active: number;
  /** Counted since `totalsSince` (when this agent first saw the balancer or endpoint). */
  totals: StatsCounts;
  totalsSince: string;
  /** Per second, averaged over the last `rateWindowSeconds` reporting rounds. */
  ratesPerSecond: StatsCounts;
  rateWindowSeconds: number;
  /** Latency of the requests completed in the same window. */
  latency: MergedStats["latency"];
}

/** Reporting rounds (one a second) the rates and latency are taken over. */
export const RATE_WINDOW_ROUNDS = 10;

function zeroCounts(): StatsCounts {
  return { requests: 0, responses: { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 }, errors: 0, retries: 0, ejections: 0, bytesIn: 0, bytesOut: 0 };
}

function addCounts(into: StatsCounts, m: StatsCounts, scale = 1): void {
  into.requests += m.requests * scale;
  for (const k of ["1xx", "2xx", "3xx", "4xx", "5xx"] as const) into.responses[k] += m.responses[k] * scale;
  into.errors += m.errors * scale;
  into.retries += m.retries * scale;
  into.ejections += m.ejections * scale;
  into.bytesIn += m.bytesIn * scale;
  into.bytesOut += m.bytesOut * scale;
}

/** One balancer's or endpoint's history: lifetime totals plus the last RATE_WINDOW_ROUNDS merged rounds. */
export class StatsHistory {
  readonly totals = zeroCounts();
  readonly since: string;
  private readonly rounds: MergedStats[] = [];
  private active = 0;

  constructor(now: number) {
    this.since = new Date(now).toISOString();
  }

  /** One reporting round (every worker's counts for one second, merged). */
  add(m: MergedStats): void {
    addCounts(this.totals, m);
    this.active = m.active;
    this.rounds.push(m);
    if (this.rounds.length > RATE_WINDOW_ROUNDS) this.rounds.shift();
  }

  /** The recent window merged into one (counters and the fine histogram), for comparing endpoints. */
  window(): MergedStats {
    return merge(this.rounds.map(asSnapshot));
  }

  view(): StatsView {
    const n = this.rounds.length;
    const rates = zeroCounts();
    for (const r of this.rounds) addCounts(rates, r, n > 0 ? 1 / n : 0);
    const window = merge(this.rounds.map(asSnapshot));
    return {
      active: this.active,
      totals: structuredClone(this.totals),
      totalsSince: this.since,
      ratesPerSecond: rates,
      rateWindowSeconds: n,
      latency: window.latency,
    };
  }
}

/** A merged round seen again as one snapshot, so rounds merge with the same code as workers. */
function asSnapshot(m: MergedStats): StatsSnapshot {
  const r = m.responses;
  return {
    requests: m.requests, responses: [0, r["1xx"], r["2xx"], r["3xx"], r["4xx"], r["5xx"]], errors: m.errors, retries: m.retries,
    bytesIn: m.bytesIn, bytesOut: m.bytesOut, active: m.active, latency: m.latency, buckets: m.buckets, sumUs: m.sumUs,
  };
}

/** Several windows (endpoints, balancers) as one. */
export function mergeWindows(ms: readonly MergedStats[]): MergedStats {
  return merge(ms.map(asSnapshot));
}
