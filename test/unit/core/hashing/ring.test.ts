// ring: sorted points, wrap-around lookup, weights in point counts, order independence.
import { describe, expect, test } from "bun:test";
import { buildRing, ringLookup } from "../../../../src/core/hashing/ring.ts";

describe("ring", () => {
  test("hashes are sorted and owners in range", () => {
    const ring = buildRing(["a", "b", "c"], [1, 2, 3]);
    for (let k = 1; k < ring.hashes.length; k++) expect(ring.hashes[k]!).toBeGreaterThanOrEqual(ring.hashes[k - 1]!);
    for (const o of ring.owners) expect(o >= 0 && o < 3).toBe(true);
  });

  test("point counts follow weight", () => {
    const ring = buildRing(["a", "b"], [1, 4], { minRingSize: 1 });
    const counts = [0, 0];
    for (const o of ring.owners) counts[o]!++;
    expect(counts).toEqual([64, 256]);
  });

  test("grows to at least minRingSize and stays within maxRingSize", () => {
    expect(buildRing(["a"], [1], { minRingSize: 5_000 }).hashes.length).toBeGreaterThanOrEqual(5_000);
    expect(buildRing(["a", "b"], [1, 1], { minRingSize: 1, maxRingSize: 100 }).hashes.length).toBeLessThanOrEqual(100);
  });

  test("a hash past the last point wraps to the first", () => {
    const ring = buildRing(["a", "b"], [1, 1]);
    const last = ring.hashes[ring.hashes.length - 1]!;
    if (last < 0xffffffff) expect(ringLookup(ring, last + 1)).toBe(ring.owners[0]!);
    expect(ringLookup(ring, ring.hashes[3]!)).toBe(ring.owners[3]!);
  });

  test("an empty ring answers -1", () => {
    expect(ringLookup(buildRing([], []), 5)).toBe(-1);
  });
});
