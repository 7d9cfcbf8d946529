// ring: sorted points, point counts from each host's own weight, wrap-around lookup, in-place updates that equal a
// fresh build, and the memory cap.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { buildRing, HashRing, ringPointCount } from "../../../../src/core/hashing/ring.ts";

/** Positions that hold a point (holes, copies of a neighbour kept as spare room, left out). */
const livePositions = (ring: HashRing) => Array.from({ length: ring.size }, (_, k) => k).filter((k) => !ring.isHole(k));
const ownerIds = (ring: HashRing, ids: readonly string[]) => livePositions(ring).map((k) => ids[ring.ownerAt(k)]!);

describe("ring", () => {
  test("hashes are sorted and owners in range", () => {
    const ring = buildRing(["a", "b", "c"], [1, 2, 3], { pointsPerWeight: 64 });
    for (let k = 1; k < ring.size; k++) expect(ring.hashAt(k)).toBeGreaterThanOrEqual(ring.hashAt(k - 1));
    for (let k = 0; k < ring.size; k++) expect(ring.ownerAt(k) >= 0 && ring.ownerAt(k) < 3).toBe(true);
  });

  test("a host's point count is round(weight x points per weight), at least 1, whatever the other hosts", () => {
    expect([...buildRing(["a", "b"], [1, 4], { pointsPerWeight: 64 }).counts()]).toEqual([64, 256]);
    expect([...buildRing(["a", "b", "c"], [1, 400, 0.001], { pointsPerWeight: 64 }).counts()]).toEqual([64, 25_600, 1]);
    expect(ringPointCount(0.5, 3)).toBe(2);
  });

  test("a hash past the last point wraps to the first; a hash on a point belongs to it", () => {
    const ring = buildRing(["a", "b"], [1, 1], { pointsPerWeight: 16 });
    const last = ring.hashAt(ring.size - 1);
    if (last < 0xffffffff) expect(ring.lookup(last + 1)).toBe(ring.ownerAt(0));
    expect(ring.lookup(ring.hashAt(3))).toBe(ring.ownerAt(3));
    expect(ring.lookup(0)).toBe(ring.ownerAt(0));
  });

  test("an empty ring answers -1", () => {
    expect(buildRing([], []).lookup(5)).toBe(-1);
  });

  test("over the memory cap the density halves until the ring fits, and comes back when it shrinks", () => {
    const ring = new HashRing({ pointsPerWeight: 64, maxPoints: 200 });
    ring.update(["a", "b", "c", "d"], [1, 1, 1, 1]);
    expect(ring.pointsPerWeight).toBe(32);
    expect(ring.pointCount).toBe(128);
    ring.update(["a", "b", "c"], [1, 1, 1]);
    expect(ring.pointsPerWeight).toBe(64);
    // A pool past the cap even at 1 point a weight unit is still served (a live pool change must not throw).
    const small = new HashRing({ maxPoints: 2 });
    small.update(["a", "b", "c"], [1, 1, 1]);
    expect(small.overCap).toBe(true);
    expect(small.pointsPerWeight).toBe(1);
    const owners = new Set<number>();
    for (let h = 0; h < 4096; h++) owners.add(small.ownerAt(small.position((h * 1048573) >>> 0)));
    expect(owners.size).toBe(3);
    small.update(["a", "b"], [1, 1]);
    expect(small.overCap).toBe(false);
  });

  test("bad options and duplicate ids are refused", () => {
    expect(() => new HashRing({ pointsPerWeight: 0 })).toThrow(RangeError);
    expect(() => new HashRing({ maxPoints: 1.5 })).toThrow(RangeError);
    expect(() => buildRing(["a", "a"], [1, 1])).toThrow(RangeError);
  });

  test("one host at a time joining, then leaving, uses up and refills the holes and always equals a fresh build", () => {
    const ids = Array.from({ length: 60 }, (_, i) => `n-${i}`);
    const ring = new HashRing({ pointsPerWeight: 64 });
    const check = (present: string[]) => {
      const fresh = buildRing(present, present.map(() => 1), { pointsPerWeight: 64 });
      expect(ring.pointCount).toBe(fresh.pointCount);
      expect(ownerIds(ring, present)).toEqual(ownerIds(fresh, present));
      for (let q = 0; q < 512; q++) {
        const h = Math.imul(q + 7, 0x85ebca6b) >>> 0;
        expect(ring.lookup(h)).toBe(fresh.lookup(h));
      }
    };
    let present = ids.slice(0, 40);
    ring.update(present, present.map(() => 1));
    const rebuilt: boolean[] = [];
    // 20 joins use up more holes than a build leaves (1 in 64), so the ring lays itself out again on the way.
    for (let i = 40; i < 60; i++) {
      present = ids.slice(0, i + 1);
      rebuilt.push(ring.update(present, present.map(() => 1)).rebuilt);
      check(present);
    }
    // Then 15 leaves, one at a time: holes pile up until a quarter of the ring, then it packs itself.
    for (let i = 0; i < 15; i++) {
      present = present.filter((id) => id !== ids[i * 3]);
      rebuilt.push(ring.update(present, present.map(() => 1)).rebuilt);
      check(present);
    }
    expect(rebuilt.every((r) => !r)).toBe(true);
  });

  test("any sequence of in-place updates leaves the ring a fresh build of the last set would give", () => {
    const ids = Array.from({ length: 12 }, (_, i) => `h-${i}`);
    const step = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 6 })), { minLength: 12, maxLength: 12 });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), (steps) => {
        const ring = new HashRing({ pointsPerWeight: 32 });
        for (const s of steps) {
          const present = ids.filter((_, i) => s[i]![0]);
          // A shuffled order too: the ring must not depend on it.
          const order = [...present].reverse();
          ring.update(order, order.map((id) => s[ids.indexOf(id)]![1]));
          const fresh = buildRing(order, order.map((id) => s[ids.indexOf(id)]![1]), { pointsPerWeight: 32 });
          expect(ring.pointCount).toBe(fresh.pointCount);
          const hashes = (r: HashRing) => livePositions(r).map((k) => r.hashAt(k));
          expect(hashes(ring)).toEqual(hashes(fresh));
          expect(ownerIds(ring, order)).toEqual(ownerIds(fresh, order));
          // Holes change no answer: every position stays sorted, and lookups agree with the fresh build's.
          for (let k = 1; k < ring.size; k++) expect(ring.hashAt(k)).toBeGreaterThanOrEqual(ring.hashAt(k - 1));
          for (let q = 0; q < 256; q++) {
            const h = (Math.imul(q + 1, 0x9e3779b1) ^ (q << 7)) >>> 0;
            expect(ring.lookup(h)).toBe(fresh.lookup(h));
          }
          for (let k = 0; k < ring.size; k++) expect(ring.lookup(ring.hashAt(k))).toBe(ring.ownerAt(k));
        }
      }),
      { numRuns: 60, seed: 21 },
    );
  });
});
