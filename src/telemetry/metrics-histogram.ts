// Cumulative explicit-bucket histogram fed either with whole pre-aggregated buckets or with single observations.

/** Upper bounds as exported (already in the exported unit); counts has one more slot, for +Inf. */
export interface BucketHistogram {
  readonly boundaries: readonly number[];
  readonly counts: number[];
  sum: number;
  count: number;
}

/** More buckets than this is a malformed report, not a histogram worth keeping. */
export const MAX_BUCKETS = 64;

export function createBucketHistogram(boundaries: readonly number[]): BucketHistogram {
  return { boundaries, counts: new Array<number>(boundaries.length + 1).fill(0), sum: 0, count: 0 };
}

/** Strictly increasing, finite, at most MAX_BUCKETS. */
export function validBounds(bounds: readonly number[]): boolean {
  if (bounds.length === 0 || bounds.length > MAX_BUCKETS) return false;
  for (let i = 0; i < bounds.length; i++) {
    const b = bounds[i];
    if (!Number.isFinite(b) || (i > 0 && b <= bounds[i - 1])) return false;
  }
  return true;
}

/** Whether `bounds` (in the source unit) times `scale` equals the histogram's boundaries. */
export function sameBounds(h: BucketHistogram, bounds: readonly number[], scale: number): boolean {
  if (h.boundaries.length !== bounds.length) return false;
  for (let i = 0; i < bounds.length; i++) if (h.boundaries[i] !== bounds[i] * scale) return false;
  return true;
}

/** Adds a worker's per-bucket counts (same layout as the histogram); O(buckets), not O(observations). */
export function addBuckets(h: BucketHistogram, counts: readonly number[], sum: number, count: number): void {
  const n = h.counts.length;
  for (let i = 0; i < n; i++) {
    const c = counts[i];
    if (c > 0) h.counts[i] += c;
  }
  if (sum > 0) h.sum += sum;
  if (count > 0) h.count += count;
}

export function observe(h: BucketHistogram, value: number): void {
  const b = h.boundaries;
  let i = 0;
  while (i < b.length && value > b[i]) i++;
  h.counts[i]++;
  h.sum += value;
  h.count++;
}
