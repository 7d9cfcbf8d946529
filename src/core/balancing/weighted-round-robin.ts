// weighted_round_robin: smooth weighted round robin (nginx's), so a heavy endpoint never gets its share in one burst.
//
// Small pools (<= EXACT_MAX) run nginx's algorithm exactly: every pick adds each weight to its endpoint's
// running score, takes the highest score (first on ties) and subtracts the total from it. That is O(n) per
// pick, too slow for a 1,000-endpoint pool, so larger pools use an equivalent-in-spirit O(log n) schedule:
// earliest virtual deadline first with deadline (picks + 1/2) / weight (the Sainte-Laguë divisor). It is just
// as smooth (every endpoint stays within one pick of its exact share) but its sequence differs from nginx's.
// Scores restart on every update (nginx does the same on reload).
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

/** Up to this many endpoints the O(n) exact nginx scan costs less than the heap's bookkeeping. */
export const EXACT_MAX = 32;

export function createWeightedRoundRobin(): Picker {
  let n = 0;
  let weight = new Float64Array(0);
  let current = new Float64Array(0);
  let total = 0;
  // Deadline heap for large pools: heap[k] = endpoint index, ordered by (deadline, index).
  let heap = new Int32Array(0);
  let deadline = new Float64Array(0);
  let picks = new Float64Array(0);

  const before = (a: number, b: number): boolean =>
    deadline[a]! < deadline[b]! || (deadline[a] === deadline[b] && a < b);

  function siftDown(k: number): void {
    const item = heap[k]!;
    for (;;) {
      const l = 2 * k + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(heap[r]!, heap[l]!) ? r : l;
      if (!before(heap[c]!, item)) break;
      heap[k] = heap[c]!;
      k = c;
    }
    heap[k] = item;
  }

  return {
    name: "weighted_round_robin",
    update: function updateWeightedRoundRobin(endpoints: readonly PoolEndpoint[]) {
      n = endpoints.length;
      weight = new Float64Array(n);
      current = new Float64Array(n);
      total = 0;
      for (let i = 0; i < n; i++) {
        weight[i] = endpoints[i]!.weight;
        total += weight[i]!;
      }
      if (n <= EXACT_MAX) return;
      heap = new Int32Array(n);
      deadline = new Float64Array(n);
      picks = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        heap[i] = i;
        deadline[i] = 0.5 / weight[i]!;
      }
      for (let k = (n >> 1) - 1; k >= 0; k--) siftDown(k);
    },
    pick: function pickWeightedRoundRobin(_ctx: PickContext): number {
      if (n === 0) return -1;
      if (n <= EXACT_MAX) {
        let best = 0;
        let bestScore = -Infinity;
        for (let i = 0; i < n; i++) {
          const s = current[i]! + weight[i]!;
          current[i] = s;
          if (s > bestScore) {
            bestScore = s;
            best = i;
          }
        }
        current[best] -= total;
        return best;
      }
      const i = heap[0]!;
      picks[i] += 1;
      deadline[i] = (picks[i]! + 0.5) / weight[i]!;
      siftDown(0);
      return i;
    },
  };
}
