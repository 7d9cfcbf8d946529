// Ring-hash builder and lookup (Envoy ring_hash semantics): virtual nodes proportional to weight, binary search.
import { fnv1a32, fnvFeedUint32, mix32 } from "./hash.ts";

export interface RingOptions {
  /** Lower bound on virtual nodes; more nodes, smoother spread, bigger table. Envoy's default. */
  minRingSize?: number;
  /** Upper bound on virtual nodes, so a tiny weight next to a huge one cannot blow up memory. */
  maxRingSize?: number;
}

export const DEFAULT_MIN_RING_SIZE = 1024;
export const DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;
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

  let sum = 0;
  for (let i = 0; i < n; i++) sum += weights[i]!;
  let minNorm = 1;
  for (let i = 0; i < n; i++) minNorm = Math.min(minNorm, weights[i]! / sum);
  // Scale so the lightest node still gets ceil(minNorm * minSize) points, as Envoy does.
  const scale = Math.min(Math.ceil(minNorm * minSize) / minNorm, maxSize);

  const counts = new Int32Array(n);
  let total = 0;
  let target = 0;
  for (let i = 0; i < n; i++) {
    target += scale * (weights[i]! / sum);
    const c = Math.max(1, Math.floor(target) - total);
    counts[i] = c;
    total += c;
  }

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
