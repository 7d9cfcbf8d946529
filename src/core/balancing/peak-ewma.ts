// peak_ewma: Finagle/Linkerd peak-EWMA latency, cost = ewma * (active + 1) / weight, power of two choices on cost.
//
// The estimate jumps up at once to any slower observation (peak sensitive) and otherwise moves toward each
// observation with weight 1 - exp(-elapsed / decay). Reading it decays it toward zero with the time since the
// last observation, so an endpoint that looked slow is tried again once it has been left alone. A failed
// request counts as at least `failurePenaltyMs`: fast failures (connection refused) must not look fast.
// State is kept per endpoint id, so it survives pool updates (slow start rebuilds the pool often).
import type { Clock, Rng } from "../time.ts";
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export interface PeakEwmaOptions {
  clock: Clock;
  rng: Rng;
  /** Time constant of the moving average (Finagle and Linkerd default to 10 s). */
  decayMs?: number;
  /** Estimate for an endpoint never observed (Linkerd's default RTT is 30 ms). */
  defaultRttMs?: number;
  failurePenaltyMs?: number;
}

/** Cost of an endpoint whose estimate decayed to zero but has requests in flight (Finagle's penalty). */
const PENALTY = 1e9;

interface EndpointState {
  ewma: number;
  stamp: number;
}

export function createPeakEwma(opts: PeakEwmaOptions): Picker {
  const { clock, rng } = opts;
  const decayMs = opts.decayMs ?? 10_000;
  const defaultRtt = opts.defaultRttMs ?? 30;
  const failurePenalty = opts.failurePenaltyMs ?? 1_000;
  let n = 0;
  let weight = new Float64Array(0);
  let active = new Float64Array(0);
  let ewma = new Float64Array(0);
  let stamp = new Float64Array(0);
  let ids: string[] = [];

  function cost(i: number, now: number): number {
    const decayed = ewma[i]! * Math.exp(-Math.max(0, now - stamp[i]!) / decayMs);
    if (decayed === 0 && active[i]! > 0) return PENALTY + active[i]!;
    return (decayed * (active[i]! + 1)) / weight[i]!;
  }

  return {
    name: "peak_ewma",
    update: function updatePeakEwma(endpoints: readonly PoolEndpoint[]) {
      const kept = new Map<string, EndpointState>();
      for (let i = 0; i < n; i++) kept.set(ids[i]!, { ewma: ewma[i]!, stamp: stamp[i]! });
      const now = clock.now();
      n = endpoints.length;
      ids = endpoints.map((e) => e.id);
      weight = new Float64Array(n);
      active = new Float64Array(n);
      ewma = new Float64Array(n);
      stamp = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const e = endpoints[i]!;
        const old = kept.get(e.id);
        weight[i] = e.weight;
        active[i] = Math.max(0, e.active);
        ewma[i] = old ? old.ewma : defaultRtt;
        stamp[i] = old ? old.stamp : now;
      }
    },
    pick: function pickPeakEwma(_ctx: PickContext): number {
      if (n <= 1) return n - 1;
      const a = Math.floor(rng.next() * n);
      let b = Math.floor(rng.next() * (n - 1));
      if (b >= a) b++;
      const now = clock.now();
      return cost(b, now) < cost(a, now) ? b : a;
    },
    onStart: function onStartPeakEwma(index: number) {
      if (index >= 0 && index < n) active[index] += 1;
    },
    onDone: function onDonePeakEwma(index: number, latencyMs: number, ok: boolean) {
      if (index < 0 || index >= n) return;
      if (active[index]! > 0) active[index] -= 1;
      const rtt = ok ? Math.max(0, latencyMs) : Math.max(latencyMs, failurePenalty);
      const now = clock.now();
      const w = Math.exp(-Math.max(0, now - stamp[index]!) / decayMs);
      ewma[index] = rtt > ewma[index]! ? rtt : ewma[index]! * w + rtt * (1 - w);
      stamp[index] = now;
    },
  };
}
