// Ring hash (Karger et al. 1997; Envoy's ring_hash): weighted virtual nodes on a 32-bit ring, kept sorted,
// updated in place when one endpoint changes, looked up through a bucket index.
//
// The promise, and what keeps it: a host's points are point(id, v) for v = 0 .. count(weight) - 1, and
// count(weight) = max(1, round(weight * pointsPerWeight)) depends on nothing else: not on the pool's size, not
// on the other hosts' weights. So adding or removing a host adds or removes exactly its points (the keys on
// them move, no key between other hosts does); raising a host's weight only adds points of that host (keys
// move only to it), lowering it only removes some (keys move only away from it). Envoy instead scales every
// host's count by the set (min_ring_size, the lightest host's share), which moves keys between survivors.
// The one exception is the memory cap: a pool whose points would exceed `maxPoints` halves pointsPerWeight
// until it fits (every host keeps a prefix of its points, so keys still only move off the dropped points,
// but survivors exchange keys on that one update). With the defaults that needs more than 1,024 weight
// units in one pool (e.g. 1,025 endpoints of weight 1).
//
// Ties between equal 32-bit point hashes go to the lower id, so every worker and host holding the same set
// of (id, weight) builds the same ring whatever the order of its updates.
import { fnv1a32, fnvFeedUint32, mix32 } from "./hash.ts";

export interface RingOptions {
  /** Points for one unit of weight; a host's share is off its weight by about 1/sqrt(points). */
  pointsPerWeight?: number;
  /** Memory cap on the whole ring (8 bytes a point plus the bucket index). */
  maxPoints?: number;
}

/**
 * Chosen by measurement (scripts/bench/hashing.ts, docs/benchmarks.md): at 4,096 points per weight unit the
 * shares of weights 1:2:3 are 1.1% off their targets (rms over seeded id sets; the lightest host's error is
 * about 1/sqrt(4096 * 5/6)), a pool of 1,000 weight-1 hosts takes 32 MB and keeps its promise, and a one-host
 * change updates that ring in place in a few ms. 16,384 gets weights within ±2% for nearly every id set at
 * 4x the memory: raise it for small pools whose weights matter more than memory.
 */
export const DEFAULT_POINTS_PER_WEIGHT = 4096;
/** 2^22 points = 32 MB; enough for 1,024 weight units at the default density (Envoy's cap is 8M points). */
export const DEFAULT_MAX_RING_POINTS = 1 << 22;
/** Above this share of points changing at once, a full rebuild (sort) is cheaper than merging. */
const REBUILD_FRACTION = 0.25;
/**
 * The bucket index has about one bucket per POINTS_PER_BUCKET points (a power of two, at least 256 buckets): the top
 * bits of a hash jump to a range of a few points, two cache lines, so a lookup costs a few misses on a ring far
 * bigger than the cache; more buckets would cost each update more to shift.
 */
const POINTS_PER_BUCKET = 16;

export function ringPointCount(weight: number, pointsPerWeight: number): number {
  return Math.max(1, Math.round(weight * pointsPerWeight));
}

/** The v-th point of a host; `base` is fnv1a32(id). */
export function ringPoint(base: number, v: number): number {
  return mix32(fnvFeedUint32(base, v));
}

interface Host {
  readonly id: string;
  readonly base: number;
  readonly slot: number;
  count: number;
}

export interface RingUpdate {
  /** Points added and removed by this update (0 and 0 when nothing changed). */
  readonly added: number;
  readonly removed: number;
  /** True when the ring was rebuilt from scratch (first update, big change, or a new density). */
  readonly rebuilt: boolean;
}

/**
 * A ring that follows a pool through its updates. Pure: no clock, no I/O. Points live interleaved in one typed
 * array (hash at 2k, owner slot at 2k + 1, so a lookup's last probe and its owner share a cache line), reused in
 * place: an update allocates only the changed points, and moves the rest with memmove.
 */
export class HashRing {
  /** points[2k] = k-th smallest point hash, points[2k + 1] = stable slot of its host; [0, 2 * size) in use. */
  private points = new Uint32Array(0);
  size = 0;
  /** slotIndex[slot] = index of that host in the ids given to the last update (-1 for a free slot). */
  private slotIndex = new Int32Array(0);
  /** Points per weight unit in use (below the option only when the cap forced it). */
  pointsPerWeight: number;
  /** True when the last update needed more than maxPoints even at 1 point a weight unit (and holds them anyway). */
  overCap = false;
  /** buckets[b] = first k with hashAt(k) >= b << shift; buckets[count] = size. */
  private buckets = new Uint32Array(257);
  private shift = 24;
  private readonly perWeight: number;
  private readonly maxPoints: number;
  private hosts = new Map<string, Host>();
  private slotHosts: Array<Host | undefined> = [];
  private freeSlots: number[] = [];

  constructor(opts: RingOptions = {}) {
    const perWeight = opts.pointsPerWeight ?? DEFAULT_POINTS_PER_WEIGHT;
    const maxPoints = opts.maxPoints ?? DEFAULT_MAX_RING_POINTS;
    if (!(Number.isInteger(perWeight) && perWeight >= 1)) throw new RangeError(`ring: pointsPerWeight must be an integer >= 1, got ${perWeight}`);
    if (!(Number.isInteger(maxPoints) && maxPoints >= 1)) throw new RangeError(`ring: maxPoints must be an integer >= 1, got ${maxPoints}`);
    this.perWeight = perWeight;
    this.maxPoints = maxPoints;
    this.pointsPerWeight = perWeight;
  }

  hashAt(k: number): number {
    return this.points[2 * k]!;
  }

  /** Index (into the last update's ids) of the host owning point `k`. */
  ownerAt(k: number): number {
    return this.slotIndex[this.points[2 * k + 1]!]!;
  }

  /** Bytes held: points (at capacity) and the bucket index. */
  bytes(): number {
    return this.points.byteLength + this.buckets.byteLength + this.slotIndex.byteLength;
  }

  /**
   * Follows the pool to `ids` with `weights` (> 0). Over maxPoints the density halves until the ring fits; a pool so
   * large that even 1 point a weight unit exceeds the cap keeps that density (the ring then holds more than maxPoints,
   * `overCap` says so) rather than failing a live pool change in the data plane. Throws only on a duplicate id.
   */
  update(ids: readonly string[], weights: ArrayLike<number>): RingUpdate {
    const n = ids.length;
    let density = this.perWeight;
    const total = (d: number) => {
      let t = 0;
      for (let i = 0; i < n; i++) t += ringPointCount(weights[i]!, d);
      return t;
    };
    let want = total(density);
    while (want > this.maxPoints && density > 1) want = total((density = Math.max(1, density >> 1)));
    this.overCap = want > this.maxPoints;

    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) throw new RangeError(`ring: endpoint id "${id}" appears twice`);
      seen.add(id);
    }
    let changed = 0;
    if (density === this.pointsPerWeight) {
      for (const h of this.hosts.values()) if (!seen.has(h.id)) changed += h.count;
      for (let i = 0; i < n; i++) {
        const h = this.hosts.get(ids[i]!);
        changed += Math.abs(ringPointCount(weights[i]!, density) - (h?.count ?? 0));
      }
    }
    const result =
      density !== this.pointsPerWeight || this.size === 0 || changed > REBUILD_FRACTION * Math.max(want, this.size)
        ? this.rebuild(ids, weights, density, want)
        : this.merge(ids, weights, density, want);
    this.slotIndex = new Int32Array(this.slotHosts.length).fill(-1);
    for (let i = 0; i < n; i++) this.slotIndex[this.hosts.get(ids[i]!)!.slot] = i;
    return result;
  }

  private ensureCapacity(points: number): void {
    if (this.points.length >= 2 * points) return;
    const cap = Math.min(Math.max(points, Math.ceil(this.points.length * 0.75)), Math.max(points, this.maxPoints));
    const next = new Uint32Array(2 * cap);
    next.set(this.points.subarray(0, 2 * this.size));
    this.points = next;
  }

  private takeSlot(id: string): Host {
    const slot = this.freeSlots.pop() ?? this.slotHosts.length;
    const host: Host = { id, base: fnv1a32(id), slot, count: 0 };
    this.slotHosts[slot] = host;
    this.hosts.set(id, host);
    return host;
  }

  private rebuild(ids: readonly string[], weights: ArrayLike<number>, density: number, total: number): RingUpdate {
    const removed = this.size;
    this.hosts = new Map();
    this.slotHosts = [];
    this.freeSlots = [];
    const n = ids.length;
    // Points are laid out host by host in id order, then sorted by hash with a stable LSD radix sort (two 16-bit
    // digits), so equal hashes stay in id order: O(points), about half the time of the float64 sort at 4M points.
    const byId = Array.from({ length: n }, (_, i) => i).sort((a, b) => (ids[a]! < ids[b]! ? -1 : 1));
    const keys = new Uint32Array(total);
    const owners = new Uint32Array(total);
    let k = 0;
    for (let r = 0; r < n; r++) {
      const i = byId[r]!;
      const host = this.takeSlot(ids[i]!);
      host.count = ringPointCount(weights[i]!, density);
      for (let v = 0; v < host.count; v++) {
        keys[k] = ringPoint(host.base, v);
        owners[k++] = host.slot;
      }
    }
    this.size = 0; // nothing of the old ring is kept
    this.ensureCapacity(total);
    const P = this.points;
    const tmpKeys = new Uint32Array(total);
    const tmpOwners = new Uint32Array(total);
    const count = new Uint32Array(65536);
    for (let j = 0; j < total; j++) count[keys[j]! & 0xffff]! += 1;
    for (let d = 0, sum = 0; d < 65536; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let j = 0; j < total; j++) {
      const at = count[keys[j]! & 0xffff]!++;
      tmpKeys[at] = keys[j]!;
      tmpOwners[at] = owners[j]!;
    }
    count.fill(0);
    for (let j = 0; j < total; j++) count[tmpKeys[j]! >>> 16]! += 1;
    for (let d = 0, sum = 0; d < 65536; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let j = 0; j < total; j++) {
      const at = count[tmpKeys[j]! >>> 16]!++;
      P[2 * at] = tmpKeys[j]!;
      P[2 * at + 1] = tmpOwners[j]!;
    }
    this.size = total;
    this.pointsPerWeight = density;
    this.indexBuckets();
    return { added: total, removed, rebuilt: true };
  }

  private merge(ids: readonly string[], weights: ArrayLike<number>, density: number, total: number): RingUpdate {
    // Points to drop: hosts gone, and the tail of hosts whose count fell. Points to add: new hosts, grown tails.
    // Both packed as hash * 2^21 + slot in a float64 (2^32 * 2^21 < 2^53) for a numeric sort.
    const SLOT = 1 << 21;
    let drops = 0;
    let adds = 0;
    const keep = new Set(ids);
    const gone: Host[] = [];
    for (const h of this.hosts.values()) {
      if (keep.has(h.id)) continue;
      drops += h.count;
      gone.push(h);
    }
    for (const h of gone) this.hosts.delete(h.id);
    const counts = new Int32Array(ids.length);
    const hostOf: Host[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const h = this.hosts.get(ids[i]!) ?? this.takeSlot(ids[i]!);
      if (h.slot >= SLOT) throw new RangeError(`ring: at most ${SLOT} endpoints`);
      hostOf[i] = h;
      counts[i] = ringPointCount(weights[i]!, density);
      if (counts[i]! < h.count) drops += h.count - counts[i]!;
      else adds += counts[i]! - h.count;
    }
    const drop = new Float64Array(drops);
    const add = new Float64Array(adds);
    let d0 = 0;
    let a0 = 0;
    for (const h of gone) for (let v = 0; v < h.count; v++) drop[d0++] = ringPoint(h.base, v) * SLOT + h.slot;
    for (let i = 0; i < ids.length; i++) {
      const h = hostOf[i]!;
      const count = counts[i]!;
      for (let v = count; v < h.count; v++) drop[d0++] = ringPoint(h.base, v) * SLOT + h.slot;
      for (let v = h.count; v < count; v++) add[a0++] = ringPoint(h.base, v) * SLOT + h.slot;
      h.count = count;
    }
    const P = this.points;
    const B = this.buckets;
    const shift = this.shift;

    // Remove: find each dropped point (among equal hashes, by slot); sorted, so a host's two points with one hash
    // (a 32-bit collision) are found at two positions. Then close the gaps left to right.
    drop.sort();
    const at = new Int32Array(drops);
    for (let d = 0; d < drops; d++) {
      const slot = drop[d]! % SLOT;
      const h = (drop[d]! - slot) / SLOT;
      const same = d > 0 && drop[d - 1] === drop[d];
      let k = same ? at[d - 1]! + 1 : this.lowerBound(h);
      while (P[2 * k + 1] !== slot) k++;
      at[d] = k;
    }
    at.sort();
    let write = drops > 0 ? at[0]! : this.size;
    for (let d = 0; d < drops; d++) {
      const from = at[d]! + 1;
      const to = d + 1 < drops ? at[d + 1]! : this.size;
      P.copyWithin(2 * write, 2 * from, 2 * to);
      write += to - from;
    }
    this.size -= drops;
    // Each bucket start moves left by the dropped points below it.
    shiftBuckets(B, drop, drops, shift, SLOT, -1);
    for (const h of gone) this.releaseSlot(h.slot);

    // Insert: sorted new points, merged from the back so each old point moves once; positions at or below `old`
    // have not moved yet, so the bucket index (of the ring after removal) still narrows each search. Equal hashes
    // go in id order (the order a fresh build gives them).
    add.sort();
    this.ensureCapacity(total);
    const Q = this.points;
    let old = this.size - 1;
    let out = this.size + adds - 1;
    for (let a = adds - 1; a >= 0; a--) {
      const slot = add[a]! % SLOT;
      const h = (add[a]! - slot) / SLOT;
      const id = this.slotHosts[slot]!.id;
      const bucket = h >>> shift;
      // First old point after (h, id): the search runs over this bucket's points.
      let lo = B[bucket]!;
      let hi = Math.min(B[bucket + 1]!, old + 1);
      if (lo > hi) lo = hi;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const hm = Q[2 * mid]!;
        if (h < hm || (h === hm && id < this.slotHosts[Q[2 * mid + 1]!]!.id)) hi = mid;
        else lo = mid + 1;
      }
      const run = old + 1 - lo;
      if (run > 0) {
        Q.copyWithin(2 * (out - run + 1), 2 * lo, 2 * (old + 1));
        out -= run;
        old = lo - 1;
      }
      // Among new points of one hash, the one with the larger id goes last.
      let o = out;
      while (o + 1 < this.size + adds && Q[2 * (o + 1)] === h && o + 1 > old + 1 && this.slotHosts[Q[2 * (o + 1) + 1]!]!.id < id) {
        Q[2 * o] = Q[2 * (o + 1)]!;
        Q[2 * o + 1] = Q[2 * (o + 1) + 1]!;
        o++;
      }
      Q[2 * o] = h;
      Q[2 * o + 1] = slot;
      out--;
    }
    this.size += adds;
    shiftBuckets(B, add, adds, shift, SLOT, 1);
    // A ring that grew or shrank past a power of two gets a bucket index of the matching size.
    if (this.bucketShiftFor(this.size) !== shift) this.indexBuckets();
    return { added: adds, removed: drops, rebuilt: false };
  }

  private releaseSlot(slot: number): void {
    this.slotHosts[slot] = undefined;
    this.freeSlots.push(slot);
  }

  private lowerBound(h: number): number {
    const bucket = h >>> this.shift;
    let lo = this.buckets[bucket]!;
    let hi = this.buckets[bucket + 1]!;
    const P = this.points;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (P[2 * mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private bucketShiftFor(size: number): number {
    const bits = Math.min(24, Math.max(8, Math.ceil(Math.log2(Math.max(1, size / POINTS_PER_BUCKET)))));
    return 32 - bits;
  }

  /** One pass over the points: O(size + buckets). */
  private indexBuckets(): void {
    const shift = this.bucketShiftFor(this.size);
    const count = 2 ** (32 - shift);
    if (this.buckets.length !== count + 1) this.buckets = new Uint32Array(count + 1);
    this.shift = shift;
    const B = this.buckets;
    const P = this.points;
    let b = 0;
    for (let k = 0; k < this.size; k++) {
      const at = P[2 * k]! >>> shift;
      while (b <= at) B[b++] = k;
    }
    while (b <= count) B[b++] = this.size;
  }

  /** Position of the first point at or after `hash` (wrapping), or -1 on an empty ring. */
  position(hash: number): number {
    const size = this.size;
    if (size === 0) return -1;
    const k = this.lowerBound(hash >>> 0);
    return k === size ? 0 : k;
  }

  /** Owner of the first point at or after `hash`, or -1 on an empty ring. */
  lookup(hash: number): number {
    const k = this.position(hash);
    return k < 0 ? -1 : this.slotIndex[this.points[2 * k + 1]!]!;
  }

  /** Points each host of the last update owns, by index. */
  counts(): Int32Array {
    const out = new Int32Array(this.hosts.size);
    for (const h of this.hosts.values()) out[this.slotIndex[h.slot]!] = h.count;
    return out;
  }
}

/** buckets[b] += sign * (points of `sorted` below bucket b), for every b >= 1; `sorted` holds hash * slotScale + slot. */
function shiftBuckets(buckets: Uint32Array, sorted: Float64Array, count: number, shift: number, slotScale: number, sign: number): void {
  const last = buckets.length - 1;
  let b = 1;
  for (let d = 0; d < count; d++) {
    const bucket = Math.floor(sorted[d]! / slotScale) >>> shift;
    // Buckets up to this point's own have d points below them.
    for (; b <= bucket; b++) buckets[b] = buckets[b]! + sign * d;
  }
  for (; b <= last; b++) buckets[b] = buckets[b]! + sign * count;
}

/** A ring built once for `ids` and `weights` (tests, benchmarks, one-off lookups). */
export function buildRing(ids: readonly string[], weights: ArrayLike<number>, opts: RingOptions = {}): HashRing {
  const ring = new HashRing(opts);
  ring.update(ids, weights);
  return ring;
}
