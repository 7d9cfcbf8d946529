// maglev: Google's Maglev consistent hashing; `ctx.hash` indexes a prime-sized lookup table built on update.
import { buildMaglevTable, DEFAULT_MAGLEV_TABLE_SIZE, isPrime } from "../hashing/maglev.ts";
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export interface MaglevOptions {
  /** Prime, and much larger than the endpoint count (Envoy: at least 100x) for an even spread. */
  tableSize?: number;
}

export function createMaglev(opts: MaglevOptions = {}): Picker {
  const size = opts.tableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
  // Fail at construction (config time) rather than on the first update in the data plane.
  if (!isPrime(size)) throw new RangeError(`maglev: table size ${size} is not prime`);
  let table: Int32Array = new Int32Array(0);
  return {
    name: "maglev",
    update: function updateMaglev(endpoints: readonly PoolEndpoint[]) {
      table =
        endpoints.length === 0
          ? new Int32Array(0)
          : buildMaglevTable(
              endpoints.map((e) => e.id),
              endpoints.map((e) => e.weight),
              size,
            );
    },
    pick: function pickMaglev(ctx: PickContext): number {
      const len = table.length;
      return len === 0 ? -1 : table[(ctx.hash >>> 0) % len]!;
    },
  };
}
