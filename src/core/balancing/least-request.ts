// least_request: power of two choices (Envoy's default): sample two distinct endpoints, keep the less loaded.
//
// Load is (active + 1) / weight, compared by cross-multiplying; the +1 lets weight decide between idle
// endpoints. In-flight counts are the picker's own, seeded from `active` on update, moved by onStart/onDone.
import type { Rng } from "../time.ts";
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export interface LeastRequestOptions {
  rng: Rng;
  /** Candidates sampled per pick (Envoy's choice_count). 2 is the classic; more approaches full least-load. */
  choices?: number;
}

export function createLeastRequest(opts: LeastRequestOptions): Picker {
  const rng = opts.rng;
  const choices = Math.max(2, Math.floor(opts.choices ?? 2));
  let n = 0;
  let weight = new Float64Array(0);
  let active = new Float64Array(0);

  return {
    name: "least_request",
    update: function updateLeastRequest(endpoints: readonly PoolEndpoint[]) {
      n = endpoints.length;
      weight = new Float64Array(n);
      active = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        weight[i] = endpoints[i]!.weight;
        active[i] = Math.max(0, endpoints[i]!.active);
      }
    },
    pick: function pickLeastRequest(_ctx: PickContext): number {
      if (n <= 1) return n - 1;
      let best = Math.floor(rng.next() * n);
      // Second candidate distinct from the first: draw from the other n - 1 and skip over `best`.
      let other = Math.floor(rng.next() * (n - 1));
      if (other >= best) other++;
      if ((active[other]! + 1) * weight[best]! < (active[best]! + 1) * weight[other]!) best = other;
      for (let c = 2; c < choices; c++) {
        const j = Math.floor(rng.next() * n);
        if ((active[j]! + 1) * weight[best]! < (active[best]! + 1) * weight[j]!) best = j;
      }
      return best;
    },
    onStart: function onStartLeastRequest(index: number) {
      if (index >= 0 && index < n) active[index] += 1;
    },
    onDone: function onDoneLeastRequest(index: number) {
      if (index >= 0 && index < n && active[index]! > 0) active[index] -= 1;
    },
  };
}
