// maglev table: full, weighted, independent of endpoint order, prime sizes only.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { buildMaglevTable, isPrime } from "../../../../src/core/hashing/maglev.ts";

describe("maglev table", () => {
  const primes: Array<[number, boolean]> = [
    [2, true],
    [1, false],
    [251, true],
    [65537, true],
    [65536, false],
    [65541, false],
    [131071, true],
  ];
  for (const [n, prime] of primes) test(`isPrime(${n}) -> ${prime}`, () => expect(isPrime(n)).toBe(prime));

  test("every slot is owned and slot counts match weights exactly at this size", () => {
    const table = buildMaglevTable(["a", "b", "c"], [1, 2, 4], 7_001);
    const counts = [0, 0, 0];
    for (const o of table) counts[o]!++;
    expect(counts[0]! + counts[1]! + counts[2]!).toBe(7_001);
    expect(counts.map((c) => Math.round((c / 7_001) * 7))).toEqual([1, 2, 4]);
  });

  test("the same set in another order owns the same slots", () => {
    const ids = ["x", "y", "z", "w"];
    const a = buildMaglevTable(ids, [1, 1, 2, 1], 1_009);
    const b = buildMaglevTable([...ids].reverse(), [1, 2, 1, 1], 1_009);
    for (let s = 0; s < 1_009; s++) expect(ids[a[s]!]).toBe([...ids].reverse()[b[s]!]);
  });

  test("an empty set fills the table with -1; a size that is not prime throws", () => {
    expect(buildMaglevTable([], [], 13).every((x) => x === -1)).toBe(true);
    expect(() => buildMaglevTable(["a"], [1], 100)).toThrow(RangeError);
  });

  test("a host far lighter than the rest still owns a slot (Envoy's rule), and the heavy one keeps its share", () => {
    const ids = Array.from({ length: 200 }, (_, i) => `h-${i}`);
    const table = buildMaglevTable(ids, ids.map((_, i) => (i === 0 ? 1_000 : 0.01)), 65_537);
    const counts = new Int32Array(ids.length);
    for (const o of table) counts[o]! += 1;
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(1);
    expect(counts[0]!).toBeGreaterThan(65_537 - 200 * 2);
  });

  test("the heap schedule (skewed weights) and the round walk build the same table", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 1_000 }), fc.double({ min: 0.01, max: 5, noNaN: true })), { minLength: 1, maxLength: 40 }), (weights) => {
        const ids = weights.map((_, i) => `m-${i}`);
        const a = buildMaglevTable(ids, weights, 1_009, undefined, "rounds");
        const b = buildMaglevTable(ids, weights, 1_009, undefined, "heap");
        return a.every((x, i) => x === b[i]);
      }),
      { numRuns: 200, seed: 2105 },
    );
  });
});
