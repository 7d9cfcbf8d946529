// maglev: Google's Maglev consistent hashing; `ctx.hash` indexes a prime-sized lookup table built on update.
// With `hashBalanceFactor`, a host at its bound passes the key on along the table (slot + 1, slot + 2, ...) to the
// first other host under its own bound (bounded loads, see bounded-load.ts): deterministic for a key and loads.
import { buildMaglevTable, DEFAULT_MAGLEV_TABLE_SIZE, isPrime, MAX_MAGLEV_TABLE_SIZE } from "../hashing/maglev.ts";
import { LoadBound } from "./bounded-load.ts";
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export interface MaglevOptions {
  /** Prime, and much larger than the endpoint count (the paper: more than 100 slots a host). */
  tableSize?: number;
  /** Bounded loads: no host takes more than this times its weighted share of in-flight requests (>= 1). */
  hashBalanceFactor?: number;
}

/**
 * A pool with more endpoints than the configured table has slots still gets a table (a live pool change must not
 * throw in the data plane): the largest prime <= 100 slots a host (the paper's density), within MAX_MAGLEV_TABLE_SIZE.
 */
export function tableSizeFor(endpoints: number): number {
  let s = Math.min(MAX_MAGLEV_TABLE_SIZE, Math.max(endpoints, endpoints * 100 + 1));
  while (s > 2 && !isPrime(s)) s--;
  return s;
}

export function createMaglev(opts: MaglevOptions = {}): Picker {
  const size = opts.tableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
  // Fail at construction (config time) rather than on the first update in the data plane.
  if (!isPrime(size) || size > MAX_MAGLEV_TABLE_SIZE) {
    throw new RangeError(`maglev: table size ${size} must be a prime <= ${MAX_MAGLEV_TABLE_SIZE}`);
  }
  const bound = opts.hashBalanceFactor !== undefined ? new LoadBound(opts.hashBalanceFactor) : undefined;
  let table: Int32Array = new Int32Array(0);
  let spare: Int32Array | undefined;
  let n = 0;

  function walk(b: LoadBound, slot: number): number {
    const first = table[slot]!;
    if (b.admits(first)) return first;
    b.begin();
    b.visit(first);
    let visited = 1;
    const len = table.length;
    for (let s = slot + 1, step = 1; step < len && visited < n; step++, s++) {
      if (s === len) s = 0;
      const i = table[s]!;
      if (!b.visit(i)) continue;
      if (b.admits(i)) return i;
      visited++;
    }
    return first; // unreachable with factor >= 1 (some host always admits); keeps the pick total
  }

  return {
    name: "maglev",
    update: function updateMaglev(endpoints: readonly PoolEndpoint[]) {
      n = endpoints.length;
      if (n === 0) {
        if (table.length > 0) spare = table;
        table = new Int32Array(0);
      } else {
        table = buildMaglevTable(
          endpoints.map((e) => e.id),
          endpoints.map((e) => e.weight),
          n <= size ? size : tableSizeFor(n),
          spare ?? (table.length > 0 ? table : undefined),
        );
        spare = undefined;
      }
      bound?.reset(endpoints);
    },
    pick: function pickMaglev(ctx: PickContext): number {
      const len = table.length;
      if (len === 0) return -1;
      const slot = (ctx.hash >>> 0) % len;
      return bound === undefined ? table[slot]! : walk(bound, slot);
    },
    ...(bound
      ? {
          onStart: function onStartMaglev(index: number) {
            bound.start(index);
          },
          onDone: function onDoneMaglev(index: number) {
            bound.done(index);
          },
        }
      : {}),
  };
}
