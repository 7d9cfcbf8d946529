// ip_hash, consistent_hash and maglev: stable mapping, and how many keys move when one endpoint leaves.
import { describe, expect, test } from "bun:test";
import { heapStats } from "bun:jsc";
import { createConsistentHash } from "../../../../src/core/balancing/consistent-hash.ts";
import { createIpHash } from "../../../../src/core/balancing/ip-hash.ts";
import { createMaglev } from "../../../../src/core/balancing/maglev.ts";
import type { Picker } from "../../../../src/core/balancing/picker.ts";
import { pool } from "../../../conformance/balancing.case.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

const KEYS = 20_000;

function remapped(make: () => Picker, n: number, removed: number): number {
  const before = make();
  const after = make();
  const all = pool(Array(n).fill(1));
  const rest = all.filter((_, i) => i !== removed);
  before.update(all);
  after.update(rest);
  const rng = createSeededRng(n * 31 + removed);
  let moved = 0;
  for (let k = 0; k < KEYS; k++) {
    const hash = Math.floor(rng.next() * 4294967296);
    const was = all[before.pick({ hash })]!.id;
    if (was !== rest[after.pick({ hash })]!.id) moved++;
  }
  return moved / KEYS;
}

describe("consistent policies remap few keys when one of N endpoints leaves", () => {
  const makers: Array<[string, () => Picker]> = [
    ["consistent_hash", () => createConsistentHash()],
    ["maglev", () => createMaglev()],
  ];
  for (const [name, make] of makers) {
    for (const n of [5, 10, 50]) {
      test(`${name} with ${n} endpoints moves at most 1/${n} + 2% of keys`, () => {
        expect(remapped(make, n, n >> 1)).toBeLessThanOrEqual(1 / n + 0.02);
      });
    }
  }

  test("consistent_hash moves only keys of the endpoint that left", () => {
    const all = pool([1, 1, 1, 1, 1, 1]);
    const before = createConsistentHash();
    const after = createConsistentHash();
    before.update(all);
    after.update(all.filter((e) => e.id !== "ep-2"));
    const rest = all.filter((e) => e.id !== "ep-2");
    for (let k = 0; k < 5_000; k++) {
      const hash = (k * 2654435761) >>> 0;
      const was = all[before.pick({ hash })]!.id;
      if (was !== "ep-2") expect(rest[after.pick({ hash })]!.id).toBe(was);
    }
  });

  test("contrast: ip_hash is not consistent and moves far more keys", () => {
    expect(remapped(() => createIpHash(), 10, 5)).toBeGreaterThan(1 / 10 + 0.1);
  });
});

describe("keyed policies", () => {
  test("ip_hash maps the same key to the same endpoint on every call", () => {
    const p = createIpHash();
    p.update(pool([1, 2, 3]));
    const first = p.pick({ hash: 123456789 });
    for (let k = 0; k < 10; k++) expect(p.pick({ hash: 123456789 })).toBe(first);
  });

  test("maglev rejects a table size that is not prime", () => {
    expect(() => createMaglev({ tableSize: 65536 })).toThrow(RangeError);
    expect(() => createMaglev({ tableSize: 251 })).not.toThrow();
  });

  test("consistent_hash rejects a density below one point and a balance factor below 1", () => {
    expect(() => createConsistentHash({ pointsPerWeight: 0 })).toThrow(RangeError);
    expect(() => createConsistentHash({ hashBalanceFactor: 0.9 })).toThrow(RangeError);
    expect(() => createMaglev({ hashBalanceFactor: Number.NaN })).toThrow(RangeError);
  });

  test("a pool larger than the configured table or ring cap is still served, not thrown on", () => {
    const big = pool(Array(300).fill(1));
    for (const p of [createMaglev({ tableSize: 251 }), createConsistentHash({ pointsPerWeight: 1, maxPoints: 100 })]) {
      expect(() => p.update(big)).not.toThrow();
      const seen = new Set<number>();
      const rng = createSeededRng(7);
      for (let k = 0; k < 30_000; k++) seen.add(p.pick({ hash: Math.floor(rng.next() * 4294967296) }));
      expect(seen.has(-1)).toBe(false);
      expect(seen.size).toBeGreaterThan(290);
      // And back to a pool that fits.
      p.update(pool([1, 1, 1]));
      expect(p.pick({ hash: 12345 })).toBeGreaterThanOrEqual(0);
      expect(p.pick({ hash: 12345 })).toBeLessThan(3);
    }
  });

  test("hashes of 0 and 2^32 - 1 both land on an endpoint", () => {
    for (const p of [createIpHash(), createConsistentHash(), createMaglev()]) {
      p.update(pool([1, 2]));
      expect(p.pick({ hash: 0 })).toBeGreaterThanOrEqual(0);
      expect(p.pick({ hash: 0xffffffff })).toBeGreaterThanOrEqual(0);
    }
  });

  test("picks allocate nothing, bounded walks included", () => {
    for (const p of [createConsistentHash({ hashBalanceFactor: 1.25 }), createMaglev({ hashBalanceFactor: 1.25 }), createConsistentHash(), createMaglev()]) {
      p.update(pool(Array.from({ length: 50 }, (_, i) => 1 + (i % 3))));
      // A hot key held open, so bounded picks walk past full hosts.
      for (let k = 0; k < 500; k++) p.onStart?.(p.pick({ hash: 77 }));
      const ctx = { hash: 0 };
      for (let k = 0; k < 50_000; k++) p.pick(((ctx.hash = Math.imul(k, 2654435761) >>> 0), ctx));
      Bun.gc(true);
      const before = heapStats().objectCount;
      for (let k = 0; k < 200_000; k++) p.pick(((ctx.hash = Math.imul(k, 2654435761) >>> 0), ctx));
      // A few objects of the runtime's own may come and go; a per-pick allocation would add ~200,000.
      expect(heapStats().objectCount - before).toBeLessThan(100);
    }
  });
});
