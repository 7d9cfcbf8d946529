import { describe, expect, test } from "bun:test";
import { decode, encode } from "../../../src/protocol/codec.ts";

const samples: Array<[string, unknown]> = [
  ["init", { t: "init", state: { kind: "procs", index: 0, config: { apps: [{ name: "a", env: { K: "v" } }] } } }],
  ["ping", { t: "ping", id: 7 }],
  ["crash", { t: "crash", reason: "test" }],
  ["ok reply", { t: "reply", id: 7, ok: true, value: { pong: true } }],
  ["error reply", { t: "reply", id: 8, ok: false, error: { code: "bad", message: "no" } }],
  ["log", { t: "log", level: "warn", msg: "x", fields: { n: 1 } }],
  ["batch of records", { t: "batch", items: Array.from({ length: 100 }, (_, i) => ({ t: "stats", app: "a", id: `a-${i}`, cpu: i / 3, rss: i * 1024 })) }],
  ["unicode and binary", { t: "x", s: "héllo ✓", b: new Uint8Array([1, 2, 3]) }],
];

describe("msgpack codec", () => {
  test.each(samples)("%s round-trips", (_name, msg) => {
    expect(decode(encode(msg))).toEqual(msg);
  });

  test("encode returns a copy, not a view into the reused buffer", () => {
    const a = encode({ t: "a", n: 1 });
    const before = Array.from(a);
    encode({ t: "b", n: 2, pad: "x".repeat(100) });
    expect(Array.from(a)).toEqual(before);
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(a.byteLength);
  });
});

describe("shared structures", () => {
  test("a record with a shared key order round-trips and packs smaller than the same object with the keys reordered", () => {
    const shared = { app: "web", id: 1, pid: 42, cpuPercent: 3.5, rssBytes: 1e6, processes: 1 };
    const reordered = { id: 1, app: "web", pid: 42, cpuPercent: 3.5, rssBytes: 1e6, processes: 1 };
    expect(decode(encode(shared))).toEqual(shared);
    expect(encode(shared).byteLength).toBeLessThan(encode(reordered).byteLength);
  });

  test("a second codec instance (a restarted worker) decodes what the first encoded", async () => {
    const fresh = await import(`../../../src/protocol/codec.ts?fresh=${Date.now()}`);
    // A separate module instance (its own Packr), or this test would prove nothing.
    expect(fresh.encode).not.toBe(encode);
    const msg = { t: "procs.stats", batch: [{ app: "a", id: 0, pid: 1, cpuPercent: 0, rssBytes: 2, processes: 1 }], other: { q: [1, 2] } };
    expect(fresh.decode(encode(msg))).toEqual(msg);
    expect(decode(fresh.encode(msg))).toEqual(msg);
  });
});
