// consistent_hash: ring hash (see core/hashing/ring.ts for what it promises); `ctx.hash` is looked up on a ring of
// weighted points. With `hashBalanceFactor`, a host at its bound passes the key on to the next host clockwise
// that is under its own (bounded loads, see bounded-load.ts): deterministic for a given key and set of loads.
import { HashRing, type RingOptions } from "../hashing/ring.ts";
import { LoadBound } from "./bounded-load.ts";
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export interface ConsistentHashOptions extends RingOptions {
  /** Bounded loads: no host takes more than this times its weighted share of in-flight requests (>= 1). */
  hashBalanceFactor?: number;
}

export function createConsistentHash(opts: ConsistentHashOptions = {}): Picker {
  const ring = new HashRing(opts);
  const bound = opts.hashBalanceFactor !== undefined ? new LoadBound(opts.hashBalanceFactor) : undefined;
  let n = 0;

  /** First host clockwise from point `start` that admits one more request (the primary when it does). */
  function walk(b: LoadBound, start: number): number {
    const first = ring.ownerAt(start);
    if (b.admits(first)) return first;
    b.begin();
    b.visit(first);
    let visited = 1;
    const size = ring.size;
    for (let k = start + 1, step = 1; step < size && visited < n; step++, k++) {
      if (k === size) k = 0;
      const i = ring.ownerAt(k);
      if (!b.visit(i)) continue;
      if (b.admits(i)) return i;
      visited++;
    }
    return first; // unreachable with factor >= 1 (some host always admits); keeps the pick total
  }

  return {
    name: "consistent_hash",
    update: function updateConsistentHash(endpoints: readonly PoolEndpoint[]) {
      n = endpoints.length;
      ring.update(
        endpoints.map((e) => e.id),
        endpoints.map((e) => e.weight),
      );
      bound?.reset(endpoints);
    },
    pick: function pickConsistentHash(ctx: PickContext): number {
      const k = ring.position(ctx.hash);
      if (k < 0) return -1;
      return bound === undefined ? ring.ownerAt(k) : walk(bound, k);
    },
    ...(bound
      ? {
          onStart: function onStartConsistentHash(index: number) {
            bound.start(index);
          },
          onDone: function onDoneConsistentHash(index: number) {
            bound.done(index);
          },
        }
      : {}),
  };
}
