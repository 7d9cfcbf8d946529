import { describe, expect, test } from "bun:test";
import { ChunkedDecoder, CHUNKED_ERROR } from "../../../src/balancer/chunked-decoder.ts";

const enc = (s: string) => Buffer.from(s, "latin1");

function feedAll(parts: string[]): number[] {
  const d = new ChunkedDecoder();
  return parts.map((p) => d.feed(enc(p), 0, p.length));
}

describe("chunked decoder", () => {
  test("finds the end of a body split at every byte boundary", () => {
    const body = "4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nTrailer-A: x\r\n\r\n";
    for (let cut = 1; cut < body.length; cut++) {
      const r = feedAll([body.slice(0, cut), body.slice(cut)]);
      expect(r[1]).toBe(body.length - cut);
    }
  });

  test("stops exactly at the end of the body when more bytes follow", () => {
    const d = new ChunkedDecoder();
    const s = "1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    expect(d.feed(enc(s), 0, s.length)).toBe(s.indexOf("GET"));
    expect(d.done).toBe(true);
  });

  test.each([
    ["no size digits", "\r\n"],
    ["non-hex size", "g\r\n"],
    ["space after size", "1 \r\na\r\n"],
    ["bare LF after size", "1\na\r\n"],
    ["missing CRLF after data", "1\r\nab"],
    ["size with 14 hex digits", "10000000000000\r\n"],
    ["control byte in extension", "1;a\u0001\r\n"],
    ["trailer starting with whitespace", "0\r\n x: y\r\n\r\n"],
  ])("refuses %s", (_name, s) => {
    const d = new ChunkedDecoder();
    expect(d.feed(enc(s), 0, s.length)).toBe(CHUNKED_ERROR);
  });
});
