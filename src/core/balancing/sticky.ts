// Sticky sessions by cookie: an opaque cookie value names an endpoint, honoured only while it is eligible.
//
// The value is 16 hex digits: two 32-bit hashes of (salt, id). It reveals neither address nor id, is the
// same on every worker and host with the same salt, and collisions among a pool's ids are negligible.
import { fnv1a32, mix32 } from "../hashing/hash.ts";
import type { PoolEndpoint } from "./picker.ts";

export const DEFAULT_STICKY_COOKIE = "polis_sticky";

export interface StickyOptions {
  cookieName?: string;
  /** Per-deployment secret-ish salt, so values cannot be computed from ids alone. */
  salt?: string;
}

export interface StickySessions {
  readonly cookieName: string;
  /** Cookie value for an endpoint id. */
  encode(id: string): string;
  /** Called with the same array as the picker's update. */
  update(endpoints: readonly PoolEndpoint[]): void;
  /** Index of the eligible endpoint the cookie value names, or -1 (absent, malformed, or no longer eligible). */
  lookup(value: string | undefined): number;
}

export function createStickySessions(opts: StickyOptions = {}): StickySessions {
  const cookieName = opts.cookieName ?? DEFAULT_STICKY_COOKIE;
  const seedA = fnv1a32(opts.salt ?? "");
  const seedB = mix32(seedA ^ 0x5bd1e995);
  let byValue = new Map<string, number>();

  function encode(id: string): string {
    const a = mix32(fnv1a32(id, seedA));
    const b = mix32(fnv1a32(id, seedB));
    return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
  }

  return {
    cookieName,
    encode,
    update(endpoints) {
      const next = new Map<string, number>();
      endpoints.forEach((e, i) => next.set(encode(e.id), i));
      byValue = next;
    },
    lookup(value) {
      if (value === undefined || value.length !== 16) return -1;
      return byValue.get(value) ?? -1;
    },
  };
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let from = 0;
  while (from < header.length) {
    let semi = header.indexOf(";", from);
    if (semi < 0) semi = header.length;
    while (header.charCodeAt(from) === 32) from++;
    const eq = header.indexOf("=", from);
    if (eq > from && eq < semi && eq - from === name.length && header.startsWith(name, from)) {
      return header.slice(eq + 1, semi).trim();
    }
    from = semi + 1;
  }
  return undefined;
}
