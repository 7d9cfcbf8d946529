// Kept samples per (target, metric): one a tick, bounded by the longest window any loaded policy names, so memory
// is (targets x metrics x window / interval) at most. Aggregations over a window read the kept samples.
import type { Aggregation } from "./types.ts";

interface Ring {
  readonly t: number[];
  readonly v: number[];
  /** Tick of the last sample (series not refreshed for a tick belong to a target that went away). */
  seen: number;
}

export interface Series {
  /** `owner`: "replica:web-1", "app:web" or "host". Two-level maps, so no key string is built per lookup. */
  record(owner: string, metric: string, at: number, value: number): void;
  aggregate(owner: string, metric: string, agg: Aggregation, windowMs: number, now: number): number | undefined;
  /** Drops series not recorded since `before`. */
  prune(before: number): void;
  setCapacity(samples: number): void;
  readonly size: number;
}

export function createSeries(capacity = 1): Series {
  const owners = new Map<string, Map<string, Ring>>();
  let cap = Math.max(1, capacity);
  return {
    record(owner, metric, at, value) {
      let m = owners.get(owner);
      if (!m) owners.set(owner, (m = new Map()));
      let r = m.get(metric);
      if (!r) m.set(metric, (r = { t: [], v: [], seen: at }));
      r.t.push(at);
      r.v.push(value);
      r.seen = at;
      if (r.t.length > cap) {
        r.t.splice(0, r.t.length - cap);
        r.v.splice(0, r.v.length - cap);
      }
    },
    aggregate(owner, metric, agg, windowMs, now) {
      const r = owners.get(owner)?.get(metric);
      if (!r || r.v.length === 0) return undefined;
      if (agg === "last" || windowMs === 0) return r.v[r.v.length - 1];
      let i = r.t.length;
      while (i > 0 && r.t[i - 1]! > now - windowMs) i--;
      if (i === r.t.length) return undefined;
      const n = r.t.length - i;
      switch (agg) {
        case "avg": {
          let s = 0;
          for (let j = i; j < r.v.length; j++) s += r.v[j]!;
          return s / n;
        }
        case "sum": {
          let s = 0;
          for (let j = i; j < r.v.length; j++) s += r.v[j]!;
          return s;
        }
        case "min": {
          let m = Infinity;
          for (let j = i; j < r.v.length; j++) m = Math.min(m, r.v[j]!);
          return m;
        }
        case "max": {
          let m = -Infinity;
          for (let j = i; j < r.v.length; j++) m = Math.max(m, r.v[j]!);
          return m;
        }
        case "rate": {
          // Per second, from the first to the last sample in the window (a counter's increase, as PromQL rate()).
          const dt = (r.t[r.t.length - 1]! - r.t[i]!) / 1000;
          return dt > 0 ? Math.max(0, r.v[r.v.length - 1]! - r.v[i]!) / dt : 0;
        }
        case "p95": {
          const sorted = r.v.slice(i).sort((a, b) => a - b);
          return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)];
        }
      }
    },
    prune(before) {
      for (const [o, m] of owners) {
        for (const [k, r] of m) if (r.seen < before) m.delete(k);
        if (m.size === 0) owners.delete(o);
      }
    },
    setCapacity(samples) {
      cap = Math.max(1, samples);
    },
    get size() {
      let n = 0;
      for (const m of owners.values()) n += m.size;
      return n;
    },
  };
}
