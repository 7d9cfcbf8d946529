// ip_hash: client-IP affinity as `ctx.hash mod table size` over a weighted slot table (nginx-like, not consistent).
//
// Slots are laid out in id order with counts proportional to weight, so the table depends only on the set
// of (id, weight): every worker maps a client to the same endpoint. Changing the set remaps many clients;
// use consistent_hash or maglev when that matters.
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export interface IpHashOptions {
  /** Slots per endpoint on average; more slots, weights honoured more finely. */
  slotsPerEndpoint?: number;
}

/** Minimum table size, so that small pools still honour weights to within a fraction of a percent. */
const MIN_SLOTS = 4096;

export function createIpHash(opts: IpHashOptions = {}): Picker {
  const perEndpoint = opts.slotsPerEndpoint ?? 64;
  let table: Int32Array = new Int32Array(0);
  return {
    name: "ip_hash",
    update: function updateIpHash(endpoints: readonly PoolEndpoint[]) {
      table = buildSlotTable(endpoints, Math.max(MIN_SLOTS, endpoints.length * perEndpoint));
    },
    pick: function pickIpHash(ctx: PickContext): number {
      const size = table.length;
      return size === 0 ? -1 : table[(ctx.hash >>> 0) % size]!;
    },
  };
}

/** Largest-remainder apportionment of `size` slots by weight, every endpoint at least one slot. */
export function buildSlotTable(endpoints: readonly PoolEndpoint[], size: number): Int32Array {
  const n = endpoints.length;
  if (n === 0) return new Int32Array(0);
  const order = endpoints
    .map((_, i) => i)
    .sort((a, b) => (endpoints[a]!.id < endpoints[b]!.id ? -1 : endpoints[a]!.id > endpoints[b]!.id ? 1 : a - b));
  let total = 0;
  for (const e of endpoints) total += e.weight;
  const counts = new Int32Array(n);
  const remainders: number[] = [];
  let used = 0;
  for (const i of order) {
    const exact = (endpoints[i]!.weight / total) * (size - n);
    counts[i] = 1 + Math.floor(exact);
    used += counts[i]!;
    remainders.push(i);
  }
  const frac = (i: number) => {
    const exact = (endpoints[i]!.weight / total) * (size - n);
    return exact - Math.floor(exact);
  };
  remainders.sort((a, b) => frac(b) - frac(a)); // stable: equal remainders stay in id order
  for (let k = 0; used < size; k++, used++) counts[remainders[k % n]!] += 1;
  const table = new Int32Array(size);
  let s = 0;
  for (const i of order) for (let c = 0; c < counts[i]!; c++) table[s++] = i;
  return table;
}
