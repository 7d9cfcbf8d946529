// random: weighted random choice; uniform fast path, else binary search over cumulative weights.
import type { Rng } from "../time.ts";
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export interface RandomOptions {
  rng: Rng;
}

export function createRandom(opts: RandomOptions): Picker {
  const rng = opts.rng;
  let n = 0;
  let uniform = true;
  let cumulative = new Float64Array(0);
  let total = 0;
  return {
    name: "random",
    update: function updateRandom(endpoints: readonly PoolEndpoint[]) {
      n = endpoints.length;
      cumulative = new Float64Array(n);
      total = 0;
      uniform = true;
      for (let i = 0; i < n; i++) {
        const w = endpoints[i]!.weight;
        if (w !== endpoints[0]!.weight) uniform = false;
        total += w;
        cumulative[i] = total;
      }
    },
    pick: function pickRandom(_ctx: PickContext): number {
      if (n === 0) return -1;
      if (uniform) return Math.floor(rng.next() * n);
      const r = rng.next() * total;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cumulative[mid]! <= r) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    },
  };
}
