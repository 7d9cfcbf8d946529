// hashing: FNV-1a vectors, string and byte forms agree, the finalizer spreads keys.
import { describe, expect, test } from "bun:test";
import { fnv1a32, fnv1a32Bytes, hashKey, hashKeyBytes, mix32, rehash } from "../../../../src/core/hashing/hash.ts";

describe("fnv1a32", () => {
  const vectors: Array<[string, number]> = [
    ["", 0x811c9dc5],
    ["a", 0xe40c292c],
    ["foobar", 0xbf9cf968],
  ];
  for (const [s, h] of vectors) {
    test(`${JSON.stringify(s)} -> 0x${h.toString(16)}`, () => expect(fnv1a32(s)).toBe(h));
  }

  const strings = ["10.0.0.1", "héllo", "日本語", "emoji 🎉 ok", "lone \ud800 high", "lone \udc00 low", "end \ud83d"];
  for (const s of strings) {
    test(`the string and its UTF-8 bytes hash alike: ${JSON.stringify(s)}`, () => {
      const bytes = new TextEncoder().encode(s);
      expect(fnv1a32(s)).toBe(fnv1a32Bytes(bytes));
      expect(hashKey(s)).toBe(hashKeyBytes(bytes));
    });
  }

  test("a byte range inside a larger buffer hashes like the slice", () => {
    const buf = new TextEncoder().encode("GET / HTTP/1.1\r\nX-User: alice\r\n");
    const start = buf.indexOf(0x61); // "alice"
    expect(hashKeyBytes(buf, start, start + 5)).toBe(hashKey("alice"));
  });

  test("a seed continues the hash (salt then key equals hashing the concatenation)", () => {
    expect(fnv1a32("key", fnv1a32("salt:"))).toBe(fnv1a32("salt:key"));
  });
});

describe("mix32 and rehash", () => {
  test("sequential keys spread evenly over 16 buckets by their low bits", () => {
    const buckets = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) buckets[hashKey(`10.0.${i >> 8}.${i & 255}`) & 15]++;
    for (const b of buckets) expect(Math.abs(b - 1_000)).toBeLessThan(150);
  });

  test("results are unsigned 32-bit integers", () => {
    for (const x of [0, 1, 0xffffffff, 0x80000000]) {
      const h = mix32(x);
      expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
    }
  });

  test("each retry attempt gives a different hash", () => {
    const seen = new Set([1, 2, 3, 4].map((a) => rehash(12345, a)));
    expect(seen.size).toBe(4);
    expect(seen.has(12345)).toBe(false);
  });
});
