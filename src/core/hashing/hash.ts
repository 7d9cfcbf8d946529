// Non-allocating 32-bit hashes (FNV-1a over UTF-8, plus a murmur3-style finalizer) for keys, rings and tables.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Starting state of FNV-1a; pass a previous result as `seed` to continue hashing (salt, then key). */
export const FNV_SEED = FNV_OFFSET;

/**
 * FNV-1a over the UTF-8 bytes of `s`, encoded on the fly so nothing is allocated.
 * Equals `fnv1a32Bytes(new TextEncoder().encode(s))`, lone surrogates included (they encode as U+FFFD),
 * so a key hashed from a header's raw bytes and from a decoded string agree.
 */
export function fnv1a32(s: string, seed: number = FNV_OFFSET): number {
  let h = seed | 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        h = Math.imul(h ^ (0xf0 | (cp >> 18)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((cp >> 12) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
        continue;
      }
      c = 0xfffd; // lone surrogate: what TextEncoder writes
    }
    h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  return h >>> 0;
}

/** FNV-1a over bytes[start, end) of a buffer (e.g. a header value inside a request the proxy holds). */
export function fnv1a32Bytes(
  bytes: Uint8Array,
  start = 0,
  end: number = bytes.length,
  seed: number = FNV_OFFSET,
): number {
  let h = seed | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h >>> 0;
}

/** Avalanche finalizer (murmur3 fmix32): FNV's low bits are weak, and tables index by `hash % size`. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash the data plane should put in `PickContext.hash` for a string key. */
export function hashKey(s: string): number {
  return mix32(fnv1a32(s));
}

/** Same as `hashKey`, over a byte range, so the proxy never decodes the key. */
export function hashKeyBytes(bytes: Uint8Array, start = 0, end: number = bytes.length): number {
  return mix32(fnv1a32Bytes(bytes, start, end));
}

/** A different, well-spread hash of the same key for retry `attempt` (1, 2, ...), so keyed policies move on. */
export function rehash(hash: number, attempt: number): number {
  return mix32((hash ^ Math.imul(attempt, 0x9e3779b9)) >>> 0);
}

/** Feeds the 4 bytes of `n` into an FNV state: virtual-node and permutation seeds without building strings. */
export function fnvFeedUint32(h: number, n: number): number {
  h = Math.imul(h ^ (n & 0xff), FNV_PRIME);
  h = Math.imul(h ^ ((n >>> 8) & 0xff), FNV_PRIME);
  h = Math.imul(h ^ ((n >>> 16) & 0xff), FNV_PRIME);
  h = Math.imul(h ^ (n >>> 24), FNV_PRIME);
  return h >>> 0;
}
