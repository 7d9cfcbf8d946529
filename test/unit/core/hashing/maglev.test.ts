// maglev table: full, weighted, independent of endpoint order, prime sizes only.
import { describe, expect, test } from "bun:test";
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
});
