// Maglev lookup-table builder (Eisenbud et al., NSDI 2016) with weights, as Envoy's maglev policy builds it.
//
// Each host walks its own permutation of the table (offset + j * skip mod size, from hashes of its id) and
// takes the first free slot on each of its turns. Turns go round by round in id order, so the table does not
// depend on the order of `ids`. Weights (Envoy's rule): every host takes a turn in the first round, whatever
// its weight, so every host owns at least one slot; after that a host of weight w takes its k-th turn in the
// first round r with r * w / maxWeight >= k. With equal weights, slot counts differ by at most one.
import { FNV_SEED, fnv1a32, mix32 } from "./hash.ts";

/** Envoy's default; prime so every skip walks the whole table. The paper asks for more than 100 slots a host. */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;
/** The paper's large table: 1% spread at up to 6,553 hosts. */
export const LARGE_MAGLEV_TABLE_SIZE = 655373;
/** Envoy's upper bound on table_size: 20 MB of slots. */
export const MAX_MAGLEV_TABLE_SIZE = 5000011;
const OFFSET_SEED = FNV_SEED;
const SKIP_SEED = 0x3c6ef372;

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * table[slot] = index into `ids` of the host owning that slot, -1 everywhere when `ids` is empty.
 * `into` is reused when it has the right size (an update then allocates only the per-host arrays).
 */
export function buildMaglevTable(
  ids: readonly string[],
  weights: ArrayLike<number>,
  tableSize: number = DEFAULT_MAGLEV_TABLE_SIZE,
  into?: Int32Array,
  /** Which of the two equal schedules to run (tests and benchmarks); by default the cheaper for these weights. */
  schedule?: "rounds" | "heap",
): Int32Array {
  if (!isPrime(tableSize)) throw new RangeError(`maglev: table size ${tableSize} is not prime`);
  const n = ids.length;
  const table = into !== undefined && into.length === tableSize ? into : new Int32Array(tableSize);
  table.fill(-1);
  if (n === 0) return table;
  if (n > tableSize) throw new RangeError(`maglev: ${n} endpoints do not fit a table of ${tableSize}`);

  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : a - b));
  const next = new Int32Array(n);
  const skip = new Int32Array(n);
  const share = new Float64Array(n);
  const turns = new Float64Array(n);
  let maxW = 0;
  for (let i = 0; i < n; i++) maxW = Math.max(maxW, weights[i]!);
  let sumShare = 0;
  for (let i = 0; i < n; i++) {
    next[i] = mix32(fnv1a32(ids[i]!, OFFSET_SEED)) % tableSize;
    skip[i] = (mix32(fnv1a32(ids[i]!, SKIP_SEED)) % (tableSize - 1)) + 1;
    share[i] = weights[i]! / maxW;
    sumShare += share[i]!;
  }

  /** Host i's turn: the next free slot along its permutation. */
  const take = (i: number): void => {
    const step = skip[i]!;
    let slot = next[i]!;
    while (table[slot] !== -1) {
      slot += step;
      if (slot >= tableSize) slot -= tableSize;
    }
    table[slot] = i;
    slot += step;
    next[i] = slot >= tableSize ? slot - tableSize : slot;
    turns[i] += 1;
  };

  // Host i takes a turn in round r when r * share[i] >= turns it took so far; rounds visit hosts in id order.
  let filled = 0;
  if (schedule === "rounds" || (schedule === undefined && sumShare * 4 >= n)) {
    // Most hosts take a turn every round: walk the rounds.
    for (let round = 0; filled < tableSize; round++) {
      for (let o = 0; o < n && filled < tableSize; o++) {
        const i = order[o]!;
        if (round * share[i]! < turns[i]!) continue;
        take(i);
        filled++;
      }
    }
    return table;
  }
  // A few heavy hosts and many light ones (most sit out most rounds): the same schedule from a heap of
  // (round of the next turn, rank in id order), so a round costs its turns rather than every host.
  const dueRound = (i: number): number => {
    const k = turns[i]!;
    let r = Math.ceil(k / share[i]!);
    while (r > 0 && (r - 1) * share[i]! >= k) r--;
    while (r * share[i]! < k) r++;
    return r;
  };
  const heapKey = new Float64Array(n);
  const heapHost = new Int32Array(n);
  for (let o = 0; o < n; o++) {
    heapKey[o] = o; // round 0, rank o: already a heap
    heapHost[o] = order[o]!;
  }
  const rankOf = new Int32Array(n);
  for (let o = 0; o < n; o++) rankOf[order[o]!] = o;
  while (filled < tableSize) {
    const i = heapHost[0]!;
    take(i);
    filled++;
    // Reschedule the top and sift it down.
    const key = dueRound(i) * n + rankOf[i]!;
    let k = 0;
    for (;;) {
      const l = 2 * k + 1;
      if (l >= n) break;
      const c = l + 1 < n && heapKey[l + 1]! < heapKey[l]! ? l + 1 : l;
      if (heapKey[c]! >= key) break;
      heapKey[k] = heapKey[c]!;
      heapHost[k] = heapHost[c]!;
      k = c;
    }
    heapKey[k] = key;
    heapHost[k] = i;
  }
  return table;
}
