// round_robin: each eligible endpoint in turn, weights ignored.
import type { Rng } from "../time.ts";
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export interface RoundRobinOptions {
  /** Picks the starting position, so balancer workers that start together do not march in step. */
  rng?: Rng;
}

export function createRoundRobin(opts: RoundRobinOptions = {}): Picker {
  let n = 0;
  let cursor = opts.rng ? Math.floor(opts.rng.next() * 0x7fffffff) : 0;
  return {
    name: "round_robin",
    update: function updateRoundRobin(endpoints: readonly PoolEndpoint[]) {
      n = endpoints.length;
      cursor = n === 0 ? cursor : cursor % n;
    },
    pick: function pickRoundRobin(_ctx: PickContext): number {
      if (n === 0) return -1;
      const i = cursor;
      cursor = i + 1 === n ? 0 : i + 1;
      return i;
    },
  };
}
