// Maglev lookup-table builder (Eisenbud et al., NSDI 2016) with weights, as Envoy's maglev policy honours them.
import { FNV_SEED, fnv1a32, mix32 } from "./hash.ts";

/** Envoy's default; must be prime so every skip walks the whole table. Much larger than the endpoint count. */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;
const OFFSET_SEED = FNV_SEED;
const SKIP_SEED = 0x3c6ef372;

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * table[slot] = index into `ids` of the endpoint owning that slot, -1 everywhere when `ids` is empty.
 * Each endpoint fills slots along its own permutation (offset + j * skip mod size) taking turns; an
 * endpoint's turns are proportional to weight / max weight. Turns go in id order, so the table does
 * not depend on the order of `ids`.
 */
export function buildMaglevTable(
  ids: readonly string[],
  weights: ArrayLike<number>,
  tableSize: number = DEFAULT_MAGLEV_TABLE_SIZE,
): Int32Array {
  if (!isPrime(tableSize)) throw new RangeError(`maglev: table size ${tableSize} is not prime`);
  const n = ids.length;
  const table = new Int32Array(tableSize).fill(-1);
  if (n === 0) return table;
  if (n > tableSize) throw new RangeError(`maglev: ${n} endpoints do not fit a table of ${tableSize}`);

  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
    ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : a - b,
  );
  const next = new Float64Array(n);
  const skip = new Float64Array(n);
  const share = new Float64Array(n);
  const credit = new Float64Array(n);
  let maxW = 0;
  for (let i = 0; i < n; i++) maxW = Math.max(maxW, weights[i]!);
  for (let i = 0; i < n; i++) {
    next[i] = mix32(fnv1a32(ids[i]!, OFFSET_SEED)) % tableSize;
    skip[i] = (mix32(fnv1a32(ids[i]!, SKIP_SEED)) % (tableSize - 1)) + 1;
    share[i] = weights[i]! / maxW;
  }

  let filled = 0;
  while (filled < tableSize) {
    for (let o = 0; o < n && filled < tableSize; o++) {
      const i = order[o]!;
      credit[i] += share[i]!;
      if (credit[i]! < 1) continue;
      credit[i] -= 1;
      let slot = next[i]!;
      while (table[slot] !== -1) slot = (slot + skip[i]!) % tableSize;
      table[slot] = i;
      next[i] = (slot + skip[i]!) % tableSize;
      filled++;
    }
  }
  return table;
}
