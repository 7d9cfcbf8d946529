// An app-level total downsampled into fixed buckets (e.g. 5 minutes) for forecasting; keeps the newest `capacity` buckets.

export interface BucketSeries {
  /** Adds one replica's contribution for that second to the bucket containing it. */
  add(second: number, value: number): void;
  /** Completed buckets before the one containing `second`, oldest first: the mean per-second total of each. */
  completed(second: number): number[];
  /** Index of the bucket containing `second`. */
  bucketOf(second: number): number;
}

export function createBucketSeries(stepSeconds: number, capacity: number): BucketSeries {
  const sums = new Float64Array(capacity);
  const first = new Float64Array(capacity);
  const lastSecond = new Float64Array(capacity);
  const index = new Float64Array(capacity).fill(-1);
  const bucketOf = (second: number) => Math.floor(second / stepSeconds);
  return {
    bucketOf,
    add: function add(second, value) {
      const b = bucketOf(second);
      const i = b % capacity;
      if (index[i] !== b) {
        index[i] = b;
        sums[i] = 0;
        first[i] = second;
        lastSecond[i] = second;
      }
      sums[i] += value;
      // Contributions of several replicas in one second add up to that second's total; the
      // divisor is the span of seconds seen, whatever order the replicas' samples came in.
      if (second < first[i]) first[i] = second;
      if (second > lastSecond[i]) lastSecond[i] = second;
    },
    completed: function completed(second) {
      const current = bucketOf(second);
      const out: number[] = [];
      let carry = Number.NaN;
      for (let b = current - capacity + 1; b < current; b++) {
        if (b < 0) continue;
        const i = b % capacity;
        // A bucket without samples (agent down, app stopped) repeats the previous level rather
        // than reading as zero load, which would teach the forecaster a false trough.
        if (index[i] === b) carry = sums[i] / (lastSecond[i] - first[i] + 1);
        if (!Number.isNaN(carry)) out.push(carry);
      }
      return out;
    },
  };
}
