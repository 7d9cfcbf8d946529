import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHttpProxy, type HttpProxy } from "../../../src/balancer/http-proxy.ts";
import { rawClient, rawUpstream, roundRobinPool, type RawUpstream } from "./support.ts";

let upstream: RawUpstream;
let proxy: HttpProxy;
beforeAll(() => {
  upstream = rawUpstream((s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  proxy = createHttpProxy({
    hostname: "127.0.0.1", port: 0, pool: roundRobinPool([upstream.port]), headerTimeoutMs: 60, maxHeaderBytes: 1024,
  });
});
afterAll(async () => {
  await proxy.close(50);
  upstream.stop();
});

const big = "X-Big: " + "a".repeat(2000) + "\r\n";
const many = Array.from({ length: 130 }, (_, i) => `X-H${i}: v\r\n`).join("");
const cases: [string, string, number][] = [
  ["Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
  ["conflicting Content-Length values", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400],
  ["non-numeric Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3x\r\n\r\nabc", 400],
  ["negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400],
  ["Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", 400],
  ["Transfer-Encoding not ending in chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400],
  ["doubled chunked coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400],
  ["chunked in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
  ["bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
  ["chunk data without CRLF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400],
  ["chunk size with bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400],
  ["obs-fold continuation line", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400],
  ["whitespace before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
  ["control byte in a header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\u0001b\r\n\r\n", 400],
  ["NUL in the request target", "GET /a\u0000b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["bare LF line endings", "GET / HTTP/1.1\nHost: a\n\n", 400],
  ["missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400],
  ["two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
  ["absolute-form target naming another authority than Host", "GET http://evil.example/x HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["absolute-form https target naming another authority", "GET https://evil.example HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["absolute-form target with userinfo", "GET http://a@a/x HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["absolute-form target with an empty authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["CONNECT with no tunnel configured", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", 405],
  ["a chunk extension over 4 KiB", `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;x=${"e".repeat(5000)}\r\na\r\n0\r\n\r\n`, 400],
  ["lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400],
  ["unknown minor version", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400],
  ["HTTP/2 version on the HTTP/1 port", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
  ["space inside the method", "G ET / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["header section over the limit", `GET / HTTP/1.1\r\nHost: a\r\n${big}\r\n`, 431],
  ["header section over the limit without an end", `GET / HTTP/1.1\r\nHost: a\r\n${big}`, 431],
  ["too many header lines", `GET / HTTP/1.1\r\nHost: a\r\n${many}\r\n`, 431],
  ["headers that never finish", "GET / HTTP/1.1\r\nHost: a\r\n", 408],
];

describe("malformed requests are refused and never forwarded", () => {
  test.each(cases)("%s -> %d", async (_name, request, status) => {
    const before = upstream.received().length;
    const c = await rawClient(proxy.port);
    try {
      c.send(request);
      const t = await c.until((x) => x.includes("\r\n\r\n"));
      expect(t.slice(0, 12)).toBe(`HTTP/1.1 ${status}`);
      await c.untilClosed();
      expect(upstream.received().length).toBe(before);
    } finally {
      c.close();
    }
    // and the proxy keeps serving
    const ok = await rawClient(proxy.port);
    try {
      ok.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      await ok.until((x) => x.startsWith("HTTP/1.1 200") && x.endsWith("ok"));
    } finally {
      ok.close();
    }
  });

  test("an absolute-form target naming the Host authority is forwarded (contrast)", async () => {
    const before = upstream.received().length;
    const c = await rawClient(proxy.port);
    try {
      c.send("GET http://A/x HTTP/1.1\r\nHost: a\r\n\r\n");
      await c.until((x) => x.startsWith("HTTP/1.1 200"));
      expect(upstream.received().slice(before).startsWith("GET http://A/x HTTP/1.1\r\n")).toBe(true);
    } finally {
      c.close();
    }
  });

  test("a chunk extension within the bound is forwarded (contrast)", async () => {
    const before = upstream.received().length;
    const c = await rawClient(proxy.port);
    try {
      c.send(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;x=${"e".repeat(100)}\r\na\r\n0\r\n\r\n`);
      await c.until((x) => x.startsWith("HTTP/1.1 200"));
      expect(upstream.received().slice(before).endsWith("\r\na\r\n0\r\n\r\n")).toBe(true);
    } finally {
      c.close();
    }
  });

  test("two X-Forwarded-For lines are forwarded as one list, in order, with the client appended", async () => {
    const before = upstream.received().length;
    const c = await rawClient(proxy.port);
    try {
      c.send("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nX-A: b\r\nX-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n\r\n");
      await c.until((x) => x.startsWith("HTTP/1.1 200"));
      const fwd = upstream.received().slice(before);
      expect(fwd.split("X-Forwarded-For").length - 1).toBe(1);
      expect(fwd).toContain("X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1\r\n");
      expect(fwd).toContain("X-A: b\r\n");
    } finally {
      c.close();
    }
  });

  test("a valid request with identical duplicate Content-Length is forwarded with one copy (contrast)", async () => {
    const before = upstream.received().length;
    const c = await rawClient(proxy.port);
    try {
      c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
      await c.until((x) => x.startsWith("HTTP/1.1 200"));
      const fwd = upstream.received().slice(before);
      expect(fwd.split("Content-Length").length - 1).toBe(1);
      expect(fwd.endsWith("\r\n\r\nabc")).toBe(true);
    } finally {
      c.close();
    }
  });
});
