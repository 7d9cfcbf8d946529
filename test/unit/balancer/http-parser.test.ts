import { describe, expect, test } from "bun:test";
import { buildRequestHead, createForwardTail } from "../../../src/balancer/head-rewrite.ts";
import { BODY_CHUNKED, BODY_CLOSE, BODY_LENGTH, BODY_NONE, createHead, findHeadEnd, parseRequestHead, parseResponseHead, PARSE_OK } from "../../../src/balancer/http-parser.ts";

const buf = (s: string) => Buffer.from(s, "latin1");

function parseReq(s: string) {
  const b = buf(s);
  const end = findHeadEnd(b, 0);
  const h = createHead();
  return { b, h, end, st: end > 0 ? parseRequestHead(b, end, h) : end };
}

describe("http request head parser", () => {
  test("a head split anywhere is found only once complete", () => {
    const s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (let cut = 1; cut < s.length; cut++) expect(findHeadEnd(buf(s.slice(0, cut)), 0)).toBe(-1);
    expect(findHeadEnd(buf(s), 0)).toBe(s.length);
  });

  test.each([
    ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", BODY_NONE, true],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n", BODY_LENGTH, true],
    ["POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", BODY_CHUNKED, true],
    ["GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", BODY_NONE, false],
    ["GET / HTTP/1.0\r\n\r\n", BODY_NONE, false],
    ["GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", BODY_NONE, true],
  ])("%j -> body kind %d, keep-alive %p", (s, kind, keep) => {
    const { st, h } = parseReq(s);
    expect(st).toBe(PARSE_OK);
    expect(h.bodyKind).toBe(kind);
    expect(h.keepAlive).toBe(keep);
  });

  test("the rewritten head keeps order, drops hop-by-hop lines and appends the proxy's lines", () => {
    const { b, h, end } = parseReq("GET /x HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nFoo: 1\r\nAccept: */*\r\n\r\n");
    const out = buildRequestHead(b, h, createForwardTail("10.1.2.3", "http", "polis"), end, end).toString("latin1");
    expect(out).toBe(
      "GET /x HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Host: a\r\n" +
      "X-Forwarded-Proto: http\r\nVia: 1.1 polis\r\n\r\n",
    );
  });

  // The proxy's lines come from per-connection constants in a few copies; every shape of head gets them whole.
  test.each([
    ["an incoming list, upgrade and body bytes",
      "GET /ws HTTP/1.1\r\nHost: h:1\r\nX-Forwarded-For: 1.1.1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
      "GET /ws HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nX-Forwarded-For: 1.1.1.1, 10.1.2.3\r\nX-Forwarded-Host: h:1\r\n" +
      "X-Forwarded-Proto: https\r\nVia: 1.1 polis\r\n\r\n"],
    ["HTTP/1.0 without Host", "GET / HTTP/1.0\r\nAccept: */*\r\n\r\n",
      "GET / HTTP/1.0\r\nAccept: */*\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: https\r\nVia: 1.1 polis\r\n\r\n"],
    ["HTTP/1.0 without Host, with an incoming list", "GET / HTTP/1.0\r\nX-Forwarded-For: 9.9.9.9\r\n\r\n",
      "GET / HTTP/1.0\r\nX-Forwarded-For: 9.9.9.9, 10.1.2.3\r\nX-Forwarded-Proto: https\r\nVia: 1.1 polis\r\n\r\n"],
    ["an empty incoming list", "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For:\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Host: a\r\nX-Forwarded-Proto: https\r\nVia: 1.1 polis\r\n\r\n"],
  ])("forwarded head with %s", (_what, input, expected) => {
    const { b, h, end, st } = parseReq(input);
    expect(st).toBe(PARSE_OK);
    const withBody = Buffer.concat([b, buf("xyz")]);
    const out = buildRequestHead(withBody, h, createForwardTail("10.1.2.3", "https", "polis"), end, end + 3).toString("latin1");
    expect(out).toBe(expected + "xyz");
  });

  test("a Connection header naming keep-alive and another field drops that field; keep-alive alone drops nothing else", () => {
    const named = parseReq("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nAccept: */*\r\n\r\n");
    expect(named.st).toBe(PARSE_OK);
    expect(Array.from(named.h.drop.subarray(0, named.h.count))).toEqual([0, 1, 1, 0]);
    const plain = parseReq("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nKeep-Alive: 1\r\nAccept: */*\r\n\r\n");
    expect(Array.from(plain.h.drop.subarray(0, plain.h.count))).toEqual([0, 1, 1, 0]);
    const b = buf("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\nETag: x\r\n\r\n");
    const r = createHead();
    expect(parseResponseHead(b, b.length, r, false)).toBe(PARSE_OK);
    expect(Array.from(r.drop.subarray(0, r.count))).toEqual([0, 1, 0]);
    expect(r.dropsOnlyKeepAlive).toBe(true);
  });
});

describe("http response head parser", () => {
  test.each([
    ["HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", false, BODY_LENGTH, true],
    ["HTTP/1.1 200 OK\r\n\r\n", false, BODY_CLOSE, false],
    ["HTTP/1.1 204 No Content\r\n\r\n", false, BODY_NONE, true],
    ["HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, BODY_NONE, true],
    ["HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", true, BODY_NONE, true],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", false, BODY_CHUNKED, false],
  ])("%j (HEAD %p) -> body kind %d, reusable %p", (s, head, kind, keep) => {
    const b = buf(s);
    const h = createHead();
    expect(parseResponseHead(b, b.length, h, head)).toBe(PARSE_OK);
    expect(h.bodyKind).toBe(kind);
    expect(h.keepAlive).toBe(keep);
  });

  test("a response with both Content-Length and Transfer-Encoding is a bad gateway", () => {
    const b = buf("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
    expect(parseResponseHead(b, b.length, createHead(), false)).toBe(502);
  });
});
