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
 * change updates that ring in place in a few ms. 16,384 gets weights within ±2% for every measured id set at
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
/**
 * One hole (spare position) a SPARE_EVERY points, spread evenly by a build: a new point shifts only the few points
 * between its place and the nearest hole, and a removed point becomes a hole, so a one-host change costs about that
 * host's points, not the ring's size. 1/64 = 1.6% more memory.
 */
const SPARE_EVERY = 64;

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
 * place: an update allocates only the changed points. A removed point becomes a hole (a copy of its neighbour); a
 * new one shifts the points between its place and the nearest hole. A build leaves one hole a SPARE_EVERY points, and
 * an update that would run out of holes (or leave more than a quarter) lays the ring out again in one pass.
 */
export class HashRing {
  /**
   * points[2k] = k-th smallest point hash, points[2k + 1] = stable slot of its host; [0, 2 * size) in use. Some
   * positions are holes (see isHole): copies of a neighbouring point, so a lookup or a walk over positions answers
   * as if they were not there.
   */
  private points = new Uint32Array(0);
  /** Positions in use, holes included (what position() and ownerAt() index). */
  size = 0;
  /** Bit k set: position k is a hole. */
  private holes = new Uint32Array(0);
  private live = 0;
  private holeCount = 0;
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

  /** Points on the ring (holes excluded). */
  get pointCount(): number {
    return this.live;
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
    return this.points.byteLength + this.holes.byteLength + this.buckets.byteLength + this.slotIndex.byteLength;
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
      density !== this.pointsPerWeight || this.live === 0 || changed > REBUILD_FRACTION * Math.max(want, this.live)
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
    const holes = new Uint32Array(Math.ceil(cap / 32));
    holes.set(this.holes.subarray(0, Math.ceil(this.size / 32)));
    this.holes = holes;
  }

  private takeSlot(id: string): Host {
    const slot = this.freeSlots.pop() ?? this.slotHosts.length;
    const host: Host = { id, base: fnv1a32(id), slot, count: 0 };
    this.slotHosts[slot] = host;
    this.hosts.set(id, host);
    return host;
  }

  private rebuild(ids: readonly string[], weights: ArrayLike<number>, density: number, total: number): RingUpdate {
    const removed = this.live;
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
    const spare = Math.ceil(total / SPARE_EVERY);
    this.ensureCapacity(total + spare);
    this.holes.fill(0);
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
    this.respread(spare);
    return { added: total, removed, rebuilt: true };
  }

  private merge(ids: readonly string[], weights: ArrayLike<number>, density: number, _total: number): RingUpdate {
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
    // Remove: each dropped point becomes a hole in place (nothing else moves).
    const P = this.points;
    for (let d = 0; d < drops; d++) {
      const slot = drop[d]! % SLOT;
      const h = (drop[d]! - slot) / SLOT;
      let k = this.lowerBound(h);
      while (k < this.size && (this.isHole(k) || P[2 * k + 1] !== slot || P[2 * k] !== h)) k++;
      if (k === this.size) throw new Error(`ring: point ${h} of slot ${slot} is missing (internal error)`);
      this.removeAt(k);
    }
    for (const h of gone) this.releaseSlot(h.slot);
    if (this.live === 0) this.respread(0);
    // Enough holes for the new points, and not so many that the ring is mostly holes: else lay out again.
    const spare = Math.ceil(this.live / SPARE_EVERY);
    if (this.holeCount < adds + (spare >> 2) || this.holeCount > adds + (this.live >> 2)) this.respread(adds + spare);
    for (let a = 0; a < adds; a++) {
      const slot = add[a]! % SLOT;
      this.insert((add[a]! - slot) / SLOT, slot);
    }
    return { added: adds, removed: drops, rebuilt: false };
  }

  /** True when position `k` is a hole: a copy of a neighbour's point, which keeps lookups and walks unchanged. */
  isHole(k: number): boolean {
    return ((this.holes[k >>> 5]! >>> (k & 31)) & 1) === 1;
  }

  private markHole(k: number, hole: boolean): void {
    if (hole) this.holes[k >>> 5]! |= 1 << (k & 31);
    else this.holes[k >>> 5]! &= ~(1 << (k & 31));
  }

  /**
   * Point `k` leaves: it and the holes either side of it (one run) become copies of the live point before the run
   * (or after it, for a run at the start), so the ring stays sorted and every hole answers what its neighbour would.
   */
  private removeAt(k: number): void {
    const P = this.points;
    this.markHole(k, true);
    this.live--;
    this.holeCount++;
    let s = k;
    while (s > 0 && this.isHole(s - 1)) s--;
    let e = k;
    while (e + 1 < this.size && this.isHole(e + 1)) e++;
    const src = s > 0 ? s - 1 : e + 1 < this.size ? e + 1 : -1;
    if (src < 0) return; // the ring is empty: respread(0) follows
    const hash = P[2 * src]!;
    const owner = P[2 * src + 1]!;
    for (let j = s; j <= e; j++) {
      P[2 * j] = hash;
      P[2 * j + 1] = owner;
    }
    this.reindex(s, e);
  }

  /** A new point: shifts the points between its place and the nearest hole by one, and fills that hole. */
  private insert(h: number, slot: number): void {
    const P = this.points;
    const B = this.buckets;
    const id = this.slotHosts[slot]!.id;
    const bucket = h >>> this.shift;
    // First position after (h, id) in (hash, id) order; holes copy a neighbour, so the order holds over them too.
    let lo = B[bucket]!;
    let hi = B[bucket + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const hm = P[2 * mid]!;
      if (h < hm || (h === hm && id < this.slotHosts[P[2 * mid + 1]!]!.id)) hi = mid;
      else lo = mid + 1;
    }
    const pos = lo;
    const size = this.size;
    for (let d = 0; pos + d < size || pos - 1 - d >= 0; d++) {
      const f = pos + d;
      if (f < size && this.isHole(f)) {
        P.copyWithin(2 * (pos + 1), 2 * pos, 2 * f);
        P[2 * pos] = h;
        P[2 * pos + 1] = slot;
        this.markHole(f, false);
        this.live++;
        this.holeCount--;
        this.reindex(pos, f);
        return;
      }
      const g = pos - 1 - d;
      if (g >= 0 && this.isHole(g)) {
        P.copyWithin(2 * g, 2 * (g + 1), 2 * pos);
        P[2 * (pos - 1)] = h;
        P[2 * (pos - 1) + 1] = slot;
        this.markHole(g, false);
        this.live++;
        this.holeCount--;
        this.reindex(g, pos - 1);
        return;
      }
    }
    // No hole anywhere (respread makes enough; this is the fallback): lay out again with room, then insert.
    this.respread(1 + Math.ceil(this.live / SPARE_EVERY));
    this.insert(h, slot);
  }

  /** Bucket starts after positions [lo, hi] changed: only the buckets whose start can lie in that range. */
  private reindex(lo: number, hi: number): void {
    const P = this.points;
    const B = this.buckets;
    const shift = this.shift;
    const bLo = lo > 0 ? (P[2 * (lo - 1)]! >>> shift) + 1 : 0;
    const bHi = hi + 1 < this.size ? P[2 * (hi + 1)]! >>> shift : B.length - 1;
    let k = lo;
    for (let b = bLo; b <= bHi; b++) {
      while (k <= hi && P[2 * k]! >>> shift < b) k++;
      B[b] = k;
    }
  }

  /** Packs the live points, then spreads `holes` holes evenly among them (each a copy of the point before it). */
  private respread(holes: number): void {
    const P0 = this.points;
    let w = 0;
    for (let k = 0; k < this.size; k++) {
      if (this.isHole(k)) continue;
      if (w !== k) {
        P0[2 * w] = P0[2 * k]!;
        P0[2 * w + 1] = P0[2 * k + 1]!;
      }
      w++;
    }
    const live = w;
    this.holes.fill(0);
    const step = holes > 0 && live > 0 ? Math.max(1, Math.floor(live / holes)) : 0;
    const made = step > 0 ? Math.floor(live / step) : 0;
    this.size = live;
    this.ensureCapacity(live + made);
    const P = this.points;
    if (step > 0) {
      for (let i = live - 1; i >= 0; i--) {
        const hash = P[2 * i]!;
        const owner = P[2 * i + 1]!;
        const d = i + Math.floor(i / step);
        if ((i + 1) % step === 0) {
          P[2 * (d + 1)] = hash;
          P[2 * (d + 1) + 1] = owner;
          this.markHole(d + 1, true);
        }
        P[2 * d] = hash;
        P[2 * d + 1] = owner;
      }
    }
    this.size = live + made;
    this.live = live;
    this.holeCount = made;
    this.indexBuckets();
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

/** A ring built once for `ids` and `weights` (tests, benchmarks, one-off lookups). */
export function buildRing(ids: readonly string[], weights: ArrayLike<number>, opts: RingOptions = {}): HashRing {
  const ring = new HashRing(opts);
  ring.update(ids, weights);
  return ring;
}
