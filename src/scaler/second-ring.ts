// Fixed-size ring of per-second samples indexed by the second they belong to; old seconds are overwritten in place.

export interface SecondRing {
  /** Stores the value for that second (a later sample of the same second replaces it). */
  put(second: number, value: number): void;
  /** Mean of the samples in the `window` seconds ending at `second` (inclusive); NaN when none. */
  mean(second: number, window: number): number;
  /** Newest second stored, -Infinity when empty. */
  readonly last: number;
}

export function createSecondRing(capacity: number): SecondRing {
  const values = new Float64Array(capacity);
  // -1 marks an empty slot; seconds are never negative on a monotonic clock started at 0.
  const stamps = new Float64Array(capacity).fill(-1);
  let last = -Infinity;
  return {
    get last() {
      return last;
    },
    put: function put(second, value) {
      const i = second % capacity;
      values[i] = value;
      stamps[i] = second;
      if (second > last) last = second;
    },
    mean: function mean(second, window) {
      const span = Math.min(window, capacity, second + 1);
      let sum = 0;
      let n = 0;
      let s = second - span + 1;
      let i = s % capacity;
      for (; s <= second; s++) {
        if (stamps[i] === s) {
          sum += values[i];
          n++;
        }
        if (++i === capacity) i = 0;
      }
      return n === 0 ? Number.NaN : sum / n;
    },
  };
}
