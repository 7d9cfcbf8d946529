// consistent_hash: Envoy-style ring hash; `ctx.hash` is looked up on a ring of weighted virtual nodes.
import { buildRing, EMPTY_RING, type Ring, type RingOptions, ringLookup } from "../hashing/ring.ts";
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export type ConsistentHashOptions = RingOptions;

export function createConsistentHash(opts: ConsistentHashOptions = {}): Picker {
  let ring: Ring = EMPTY_RING;
  return {
    name: "consistent_hash",
    update: function updateConsistentHash(endpoints: readonly PoolEndpoint[]) {
      ring = buildRing(
        endpoints.map((e) => e.id),
        endpoints.map((e) => e.weight),
        opts,
      );
    },
    pick: function pickConsistentHash(ctx: PickContext): number {
      return ringLookup(ring, ctx.hash);
    },
  };
}
