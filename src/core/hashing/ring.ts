// Ring-hash builder and lookup (Envoy ring_hash semantics): virtual nodes proportional to weight, binary search.
import { fnv1a32, fnvFeedUint32, mix32 } from "./hash.ts";

export interface RingOptions {
  /** Lower bound on virtual nodes; more nodes, smoother spread, bigger table. Envoy's default. */
  minRingSize?: number;
  /** Upper bound on virtual nodes, so a tiny weight next to a huge one cannot blow up memory. */
  maxRingSize?: number;
  /** Virtual nodes for an endpoint of one weight unit; about 1/sqrt of it is the spread of load. */
  vnodesPerUnit?: number;
}

export const DEFAULT_MIN_RING_SIZE = 1024;
export const DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;
export const DEFAULT_VNODES_PER_UNIT = 256;
// Owners are packed below the hash in one float64 for a fast numeric sort: 2^32 * 2^20 < 2^53.
const MAX_OWNERS = 1 << 20;

export interface Ring {
  /** Sorted virtual-node hashes. */
  readonly hashes: Uint32Array;
  /** owners[k] = index (into the ids given to buildRing) of the endpoint owning hashes[k]. */
  readonly owners: Int32Array;
}

export const EMPTY_RING: Ring = { hashes: new Uint32Array(0), owners: new Int32Array(0) };

/**
 * Builds the ring. A node's points depend only on its id and weight, never on its position in `ids`,
 * so every worker and host holding the same set builds the same ring.
 *
 * Sizing differs from Envoy's on purpose. Envoy scales every node's count by the whole set (the lightest
 * node gets ceil(share * minRingSize)), so removing one of five equal nodes also gives each survivor ~20%
 * more points, which steal keys from one another: ~27% of keys move instead of 20%. Here a node's count is
 * round(weight / unit * vnodesPerUnit) with `unit` the max weight rounded up to a power of two, so adding
 * or removing a node leaves the others' points alone unless the max weight crosses a power of two, or
 * the ring must double or halve to stay within [minRingSize, maxRingSize] (only very small or very
 * large pools).
 */
export function buildRing(
  ids: readonly string[],
  weights: ArrayLike<number>,
  opts: RingOptions = {},
): Ring {
  const n = ids.length;
  if (n === 0) return EMPTY_RING;
  if (n > MAX_OWNERS) throw new RangeError(`ring: at most ${MAX_OWNERS} endpoints`);
  const minSize = opts.minRingSize ?? DEFAULT_MIN_RING_SIZE;
  const maxSize = opts.maxRingSize ?? DEFAULT_MAX_RING_SIZE;
  if (!(minSize >= 1 && maxSize >= minSize)) throw new RangeError("ring: need 1 <= minRingSize <= maxRingSize");

  let maxW = 0;
  for (let i = 0; i < n; i++) maxW = Math.max(maxW, weights[i]!);
  const unit = 2 ** Math.ceil(Math.log2(maxW));
  const counts = new Int32Array(n);
  const fill = (perUnit: number): number => {
    let t = 0;
    for (let i = 0; i < n; i++) t += counts[i] = Math.max(1, Math.round((weights[i]! / unit) * perUnit));
    return t;
  };
  let perUnit = opts.vnodesPerUnit ?? DEFAULT_VNODES_PER_UNIT;
  let total = fill(perUnit);
  while (total < minSize && total * 2 <= maxSize) total = fill((perUnit *= 2));
  while (total > maxSize && perUnit > 1) total = fill((perUnit /= 2));
  if (total > maxSize) throw new RangeError(`ring: ${n} endpoints need more than maxRingSize ${maxSize} points`);

  const packed = new Float64Array(total);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const base = fnv1a32(ids[i]!);
    for (let v = 0; v < counts[i]!; v++) packed[k++] = mix32(fnvFeedUint32(base, v)) * MAX_OWNERS + i;
  }
  packed.sort();
  const hashes = new Uint32Array(total);
  const owners = new Int32Array(total);
  for (let j = 0; j < total; j++) {
    const p = packed[j]!;
    const owner = p % MAX_OWNERS;
    hashes[j] = (p - owner) / MAX_OWNERS;
    owners[j] = owner;
  }
  return { hashes, owners };
}

/** Owner of the first virtual node at or after `hash` (wrapping), or -1 on an empty ring. */
export function ringLookup(ring: Ring, hash: number): number {
  const hashes = ring.hashes;
  const len = hashes.length;
  if (len === 0) return -1;
  const h = hash >>> 0;
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hashes[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return ring.owners[lo === len ? 0 : lo]!;
}
