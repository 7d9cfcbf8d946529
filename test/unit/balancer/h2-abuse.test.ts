// HTTP/2 abuse against the balancer's listener, with frames written by hand: rapid reset (CVE-2023-44487), an
// HPACK bomb, oversized frames and too many streams each end with a stream or connection error, never a crash,
// and the listener goes on serving gRPC calls.
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import * as grpc from "@grpc/grpc-js";
import { EchoClient, echoServer, h2Listener, member, unary } from "./h2-support.ts";
import { waitFor } from "../../support/wait-for.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const T = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7, CONTINUATION: 9 } as const;

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK literal without indexing, new name (RFC 7541 6.2.2), lengths under 127 or with the 7-bit prefix integer. */
function int7(n: number, first: number): number[] {
  if (n < 127) return [first | n];
  const out = [first | 127];
  n -= 127;
  while (n >= 128) {
    out.push((n & 127) | 128);
    n >>= 7;
  }
  out.push(n);
  return out;
}
function literal(name: string, value: string, indexing = false): Buffer {
  return Buffer.concat([Buffer.from([indexing ? 0x40 : 0x00]), Buffer.from(int7(name.length, 0)), Buffer.from(name, "latin1"), Buffer.from(int7(value.length, 0)), Buffer.from(value, "latin1")]);
}
/** :method POST, :scheme http, :path /test.Echo/Unary, :authority, content-type application/grpc, te trailers. */
function grpcHead(extra: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from([0x83, 0x86]), literal(":path", "/test.Echo/Unary"), literal(":authority", "localhost"), literal("content-type", "application/grpc"), literal("te", "trailers"), extra]);
}

interface Raw {
  sock: Socket<undefined>;
  frames: { type: number; flags: number; stream: number; payload: Buffer }[];
  closed: boolean;
}

async function rawH2(port: number): Promise<Raw> {
  const raw: Raw = { sock: undefined as never, frames: [], closed: false };
  let buf = Buffer.alloc(0);
  raw.sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 9) {
          const len = buf.readUIntBE(0, 3);
          if (buf.length < 9 + len) break;
          raw.frames.push({ type: buf[3]!, flags: buf[4]!, stream: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) });
          buf = buf.subarray(9 + len);
        }
      },
      close() {
        raw.closed = true;
      },
      error() {
        raw.closed = true;
      },
    },
  });
  raw.sock.write(Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0)]));
  cleanups.push(() => raw.sock.end());
  return raw;
}

const goawayCode = (r: Raw) => {
  const g = r.frames.find((f) => f.type === T.GOAWAY);
  return g ? g.payload.readUInt32BE(4) : undefined;
};

async function setup() {
  const servers = await Promise.all(["a", "b"].map(echoServer));
  for (const s of servers) cleanups.push(() => s.stop());
  const l = await h2Listener();
  cleanups.push(() => l.close(200));
  l.setMembers(servers.map((s) => member(s)));
  const stillServing = async () => {
    const c = new EchoClient(`127.0.0.1:${l.port}`, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    try {
      const r = await unary(c, "still");
      expect(r.error).toBeUndefined();
      expect(r.value).toMatch(/^[ab]:still$/);
    } finally {
      c.close();
    }
  };
  return { servers, l, stillServing };
}

describe("HTTP/2 abuse on the balancer listener", () => {
  test("rapid reset: thousands of streams opened and cancelled at once end in GOAWAY, not in thousands of upstream calls", async () => {
    const { servers, l, stillServing } = await setup();
    const r = await rawH2(l.port);
    const burst: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const id = 1 + 2 * i;
      burst.push(frame(T.HEADERS, 0x4, id, grpcHead()), frame(T.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])));
    }
    r.sock.write(Buffer.concat(burst));
    await waitFor(() => r.closed || goawayCode(r) !== undefined, { what: "GOAWAY or close", timeoutMs: 10_000 });
    // Bun's HTTP/2 session cuts such a connection itself (no GOAWAY); ours sends ENHANCE_YOUR_CALM past the reset budget.
    expect([undefined, 0xb]).toContain(goawayCode(r));
    expect(servers[0]!.calls + servers[1]!.calls).toBeLessThan(1000);
    await stillServing();
  });

  test("an HPACK bomb (one big table entry referenced over and over) is refused, and the listener serves on", async () => {
    const { l, stillServing } = await setup();
    const r = await rawH2(l.port);
    const big = literal("x-bomb", "y".repeat(4000), true);
    const refs = Buffer.alloc(4000, 0xbe); // indexed field 62: the entry just added, ~4 KB each time
    r.sock.write(frame(T.HEADERS, 0x4 | 0x1, 1, grpcHead(Buffer.concat([big, refs]))));
    await waitFor(() => r.closed || r.frames.some((f) => (f.type === T.RST_STREAM || f.type === T.GOAWAY || f.type === T.HEADERS) && (f.stream === 1 || f.type === T.GOAWAY)), { what: "a refusal", timeoutMs: 10_000 });
    const answer = r.frames.find((f) => f.type === T.HEADERS && f.stream === 1);
    // Refused as a whole: a reset, GOAWAY or close; if the stream was answered at all, not with a 2xx from a replica.
    if (answer) expect(answer.payload.includes(Buffer.from("200"))).toBe(false);
    await stillServing();
  });

  test("a frame larger than SETTINGS_MAX_FRAME_SIZE ends the connection with FRAME_SIZE_ERROR", async () => {
    const { l, stillServing } = await setup();
    const r = await rawH2(l.port);
    r.sock.write(frame(T.HEADERS, 0x4, 1, grpcHead()));
    r.sock.write(frame(T.DATA, 0, 1, Buffer.alloc(20_000)));
    await waitFor(() => r.closed || goawayCode(r) !== undefined, { what: "GOAWAY or close", timeoutMs: 10_000 });
    // Bun's HTTP/2 session closes the connection on it, with or without the GOAWAY first.
    expect([undefined, 0x6]).toContain(goawayCode(r));
    await stillServing();
  });

  test("streams beyond max_concurrent_streams are refused one by one; the ones within the limit are served", async () => {
    const { l, stillServing } = await setup();
    const r = await rawH2(l.port);
    // 150 open streams (no END_STREAM), then 5 that end at once: the limit is 100.
    const frames: Buffer[] = [];
    for (let i = 0; i < 150; i++) frames.push(frame(T.HEADERS, 0x4, 1 + 2 * i, grpcHead()));
    r.sock.write(Buffer.concat(frames));
    await waitFor(() => r.closed || r.frames.some((f) => f.type === T.RST_STREAM || f.type === T.GOAWAY), { what: "refusals", timeoutMs: 10_000 });
    const refused = r.frames.filter((f) => f.type === T.RST_STREAM).map((f) => f.payload.readUInt32BE(0));
    if (!r.closed && goawayCode(r) === undefined) {
      expect(refused.length).toBeGreaterThanOrEqual(50);
      expect(new Set(refused)).toEqual(new Set([7]));
    }
    await stillServing();
  });
});
