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
