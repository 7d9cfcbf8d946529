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
/** The bucket index: the top 14 bits of a hash jump to a range of ~M/16,384 points, so a lookup stays in cache. */
const BUCKET_BITS = 14;
const BUCKET_SHIFT = 32 - BUCKET_BITS;
const BUCKETS = 1 << BUCKET_BITS;
/** Above this share of points changing at once, a full rebuild (sort) is cheaper than merging. */
const REBUILD_FRACTION = 0.25;

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

export interface RingState {
  /** Sorted point hashes; only [0, size) is in use. */
  readonly hashes: Uint32Array;
  /** slots[k] = stable slot of the host owning hashes[k]. */
  readonly slots: Int32Array;
  readonly size: number;
  /** slotIndex[slot] = index of that host in the ids given to the last update (-1 for a free slot). */
  readonly slotIndex: Int32Array;
  /** Points per weight unit actually in use (below the option only when the cap forced it). */
  readonly pointsPerWeight: number;
}

export interface RingUpdate {
  /** Points added and removed by this update (0 and 0 when nothing changed). */
  readonly added: number;
  readonly removed: number;
  /** True when the ring was rebuilt from scratch (first update, big change, or a new density). */
  readonly rebuilt: boolean;
}

/**
 * A ring that follows a pool through its updates. Pure: no clock, no I/O; its memory grows to the largest
 * ring seen (typed arrays reused in place, so an update allocates only the changed points).
 */
export class HashRing implements RingState {
  hashes = new Uint32Array(0);
  slots = new Int32Array(0);
  size = 0;
  slotIndex = new Int32Array(0);
  pointsPerWeight: number;
  /** buckets[b] = first k with hashes[k] >= b << BUCKET_SHIFT; buckets[BUCKETS] = size. */
  readonly buckets = new Uint32Array(BUCKETS + 1);
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

  /** Follows the pool to `ids` with `weights` (> 0); throws RangeError only when even 1 point a host exceeds maxPoints. */
  update(ids: readonly string[], weights: ArrayLike<number>): RingUpdate {
    const n = ids.length;
    if (n > this.maxPoints) throw new RangeError(`ring: ${n} endpoints need more than maxPoints ${this.maxPoints} points`);
    let density = this.perWeight;
    const total = (d: number) => {
      let t = 0;
      for (let i = 0; i < n; i++) t += ringPointCount(weights[i]!, d);
      return t;
    };
    let want = total(density);
    while (want > this.maxPoints && density > 1) want = total((density = Math.max(1, density >> 1)));
    if (want > this.maxPoints) throw new RangeError(`ring: ${n} endpoints with these weights need more than maxPoints ${this.maxPoints}`);

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
    this.indexBuckets();
    return result;
  }

  private ensureCapacity(points: number): void {
    if (this.hashes.length >= points) return;
    const cap = Math.min(Math.max(points, Math.ceil(this.hashes.length * 1.5)), Math.max(points, this.maxPoints));
    const hashes = new Uint32Array(cap);
    const slots = new Int32Array(cap);
    hashes.set(this.hashes.subarray(0, this.size));
    slots.set(this.slots.subarray(0, this.size));
    this.hashes = hashes;
    this.slots = slots;
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
    // Rank by id so equal hashes sort by id; the rank lives below the hash in one float64: 2^32 * 2^21 < 2^53.
    const byId = Array.from({ length: n }, (_, i) => i).sort((a, b) => (ids[a]! < ids[b]! ? -1 : 1));
    const RANK = 1 << 21;
    if (n > RANK) throw new RangeError(`ring: at most ${RANK} endpoints`);
    const packed = new Float64Array(total);
    const rankSlot = new Int32Array(n);
    let k = 0;
    for (let r = 0; r < n; r++) {
      const i = byId[r]!;
      const host = this.takeSlot(ids[i]!);
      host.count = ringPointCount(weights[i]!, density);
      rankSlot[r] = host.slot;
      for (let v = 0; v < host.count; v++) packed[k++] = ringPoint(host.base, v) * RANK + r;
    }
    packed.sort();
    this.ensureCapacity(total);
    const hashes = this.hashes;
    const slots = this.slots;
    for (let j = 0; j < total; j++) {
      const p = packed[j]!;
      const r = p % RANK;
      hashes[j] = (p - r) / RANK;
      slots[j] = rankSlot[r]!;
    }
    this.size = total;
    this.pointsPerWeight = density;
    return { added: total, removed, rebuilt: true };
  }

  /** (hash, id) order: the sort order of the ring. */
  private before(h: number, id: string, k: number): boolean {
    const hk = this.hashes[k]!;
    return h < hk || (h === hk && id < this.slotHosts[this.slots[k]!]!.id);
  }

  private lowerBound(h: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.hashes[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private merge(ids: readonly string[], weights: ArrayLike<number>, density: number, total: number): RingUpdate {
    // Points to drop: hosts gone, and the tail of hosts whose count fell. Points to add: new hosts, grown tails.
    const drop: Array<[number, number]> = [];
    const add: Array<[number, Host]> = [];
    const keep = new Set(ids);
    for (const h of [...this.hosts.values()]) {
      if (keep.has(h.id)) continue;
      for (let v = 0; v < h.count; v++) drop.push([ringPoint(h.base, v), h.slot]);
      this.hosts.delete(h.id);
    }
    for (let i = 0; i < ids.length; i++) {
      const h = this.hosts.get(ids[i]!) ?? this.takeSlot(ids[i]!);
      const count = ringPointCount(weights[i]!, density);
      for (let v = count; v < h.count; v++) drop.push([ringPoint(h.base, v), h.slot]);
      for (let v = h.count; v < count; v++) add.push([ringPoint(h.base, v), h]);
      h.count = count;
    }

    // Remove: find each dropped point (among equal hashes, by slot), then close the gaps left to right.
    const hashes = this.hashes;
    const slots = this.slots;
    // Sorted, so a host's two points with one hash (a 32-bit collision) are found at two positions.
    drop.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const at = new Int32Array(drop.length);
    for (let d = 0; d < drop.length; d++) {
      const [h, slot] = drop[d]!;
      const same = d > 0 && drop[d - 1]![0] === h && drop[d - 1]![1] === slot;
      let k = same ? at[d - 1]! + 1 : this.lowerBound(h);
      while (slots[k] !== slot) k++;
      at[d] = k;
    }
    at.sort();
    let write = at.length > 0 ? at[0]! : this.size;
    for (let d = 0; d < at.length; d++) {
      const from = at[d]! + 1;
      const to = d + 1 < at.length ? at[d + 1]! : this.size;
      hashes.copyWithin(write, from, to);
      slots.copyWithin(write, from, to);
      write += to - from;
    }
    this.size -= at.length;
    for (const h of this.slotHosts) if (h && !this.hosts.has(h.id)) this.releaseSlot(h.slot);

    // Insert: sorted new points, merged from the back so each old point moves once.
    add.sort((a, b) => a[0] - b[0] || (a[1].id < b[1].id ? -1 : 1));
    this.ensureCapacity(total);
    const H = this.hashes;
    const S = this.slots;
    let old = this.size - 1;
    let out = this.size + add.length - 1;
    for (let a = add.length - 1; a >= 0; a--) {
      const [h, host] = add[a]!;
      // Old points after (h, id) move right by the new points still to place.
      let lo = 0;
      let hi = old + 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.before(h, host.id, mid)) hi = mid;
        else lo = mid + 1;
      }
      const run = old + 1 - lo;
      if (run > 0) {
        H.copyWithin(out - run + 1, lo, old + 1);
        S.copyWithin(out - run + 1, lo, old + 1);
        out -= run;
        old = lo - 1;
      }
      H[out] = h;
      S[out] = host.slot;
      out--;
    }
    this.size += add.length;
    return { added: add.length, removed: at.length, rebuilt: false };
  }

  private releaseSlot(slot: number): void {
    this.slotHosts[slot] = undefined;
    this.freeSlots.push(slot);
  }

  private indexBuckets(): void {
    const b = this.buckets;
    for (let i = 0; i < BUCKETS; i++) b[i] = this.lowerBound(i * 2 ** BUCKET_SHIFT);
    b[BUCKETS] = this.size;
  }

  /** Position of the first point at or after `hash` (wrapping), or -1 on an empty ring. */
  position(hash: number): number {
    const size = this.size;
    if (size === 0) return -1;
    const h = hash >>> 0;
    const bucket = h >>> BUCKET_SHIFT;
    let lo = this.buckets[bucket]!;
    let hi = this.buckets[bucket + 1]!;
    const hashes = this.hashes;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return lo === size ? 0 : lo;
  }

  /** Index (into the last update's ids) of the host owning point `k`. */
  ownerAt(k: number): number {
    return this.slotIndex[this.slots[k]!]!;
  }

  /** Owner of the first point at or after `hash`, or -1 on an empty ring. */
  lookup(hash: number): number {
    const k = this.position(hash);
    return k < 0 ? -1 : this.slotIndex[this.slots[k]!]!;
  }

  /** Points each host of the last update owns, by index. */
  counts(): Int32Array {
    const out = new Int32Array(this.hosts.size);
    for (const h of this.hosts.values()) out[this.slotIndex[h.slot]!] = h.count;
    return out;
  }
}

/** A ring built once for `ids` and `weights` (tests, benchmarks, one-off lookups). */
export function buildRing(ids: readonly string[], weights: ArrayLike<number>, opts: RingOptions = {}): HashRing {
  const ring = new HashRing(opts);
  ring.update(ids, weights);
  return ring;
}
