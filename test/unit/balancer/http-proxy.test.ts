import { afterEach, describe, expect, test } from "bun:test";
import { createHttpProxy, type HttpProxy, type HttpProxyOptions } from "../../../src/balancer/http-proxy.ts";
import { countResponses, echoUpstream, rawClient, rawUpstream, roundRobinPool, type EchoUpstream, type RawClient, type RawUpstream } from "./support.ts";
import { waitFor } from "../../support/wait-for.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function proxyFor(ports: number[], extra: Partial<HttpProxyOptions> = {}) {
  const pool = roundRobinPool(ports);
  const proxy: HttpProxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool, ...extra });
  cleanups.push(() => proxy.close(100));
  return { proxy, pool };
}
function echo(name: string): EchoUpstream {
  const u = echoUpstream(name);
  cleanups.push(() => u.stop());
  return u;
}
function raw(onData: Parameters<typeof rawUpstream>[0]): RawUpstream {
  const u = rawUpstream(onData);
  cleanups.push(() => u.stop());
  return u;
}
async function client(port: number): Promise<RawClient> {
  const c = await rawClient(port);
  cleanups.push(() => c.close());
  return c;
}
function bodyOf(text: string): string {
  return text.slice(text.indexOf("\r\n\r\n") + 4);
}

describe("http proxy forwarding", () => {
  test("requests on one client connection reuse one upstream connection", async () => {
    let conns = 0;
    const up = raw((s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    const { proxy } = proxyFor([up.port]);
    const c = await client(proxy.port);
    for (let i = 1; i <= 3; i++) {
      c.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
      await c.until((t) => countResponses(t) === i);
    }
    conns = up.connections;
    expect(conns).toBe(1);
    expect(proxy.stats().listener.responses[2]).toBe(3);
  });

  test("forwarded requests carry X-Forwarded-*, Via and lose hop-by-hop headers", async () => {
    const up = echo("a");
    const { proxy } = proxyFor([up.port]);
    const c = await client(proxy.port);
    c.send(
      "GET /p?q=1 HTTP/1.1\r\nHost: example.test\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n" +
      "Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: x\r\nX-Forwarded-For: 10.0.0.1\r\n" +
      "X-Forwarded-Proto: evil\r\nX-Keep: yes\r\n\r\n",
    );
    const t = await c.until((x) => x.includes("}"));
    const seen = JSON.parse(bodyOf(t)).headers as Record<string, string>;
    expect(seen["x-forwarded-for"]).toBe("10.0.0.1, 127.0.0.1");
    expect(seen["x-forwarded-proto"]).toBe("http");
    expect(seen["x-forwarded-host"]).toBe("example.test");
    expect(seen["via"]).toBe("1.1 polis");
    expect(seen["x-keep"]).toBe("yes");
    for (const gone of ["x-secret", "keep-alive", "te", "proxy-authorization"]) expect(seen[gone]).toBeUndefined();
    expect(up.seen[0].url).toBe("/p?q=1");
  });

  test("round robin spreads requests over both upstreams", async () => {
    const a = echo("a"), b = echo("b");
    const { proxy } = proxyFor([a.port, b.port]);
    const c = await client(proxy.port);
    for (let i = 1; i <= 4; i++) {
      c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      await c.until((t) => countResponses(t) === i);
    }
    expect(a.seen.length).toBe(2);
    expect(b.seen.length).toBe(2);
  });

  test("pipelined requests are answered in order", async () => {
    const up = echo("a");
    const { proxy } = proxyFor([up.port]);
    const c = await client(proxy.port);
    c.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
    const t = await c.until((x) => countResponses(x) === 3);
    expect(t.indexOf('"/1"')).toBeLessThan(t.indexOf('"/2"'));
    expect(t.indexOf('"/2"')).toBeLessThan(t.indexOf('"/3"'));
  });

  test("a chunked request body is forwarded and a chunked response comes back", async () => {
    const up = raw((s, text) => {
      if (text.includes("0\r\n\r\n")) s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    });
    const { proxy } = proxyFor([up.port]);
    const c = await client(proxy.port);
    c.send("POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    await waitFor(() => up.received().includes("hello"), { what: "first chunk upstream" });
    c.send("6\r\n world\r\n0\r\n\r\n");
    const t = await c.until((x) => x.endsWith("0\r\n\r\n"));
    expect(bodyOf(t)).toBe("3\r\nabc\r\n0\r\n\r\n");
    expect(up.received()).toContain("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    // keep-alive continues after a chunked exchange
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await waitFor(() => up.received().includes("GET / HTTP/1.1"), { what: "second request" });
  });

  test("a sticky cookie asked for by the pool is set on the response", async () => {
    const up = echo("a");
    const { proxy, pool } = proxyFor([up.port]);
    pool.cookie = "polis_sticky=abc; Path=/; HttpOnly";
    const c = await client(proxy.port);
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    const t = await c.until((x) => x.includes("}"));
    expect(t).toContain("Set-Cookie: polis_sticky=abc; Path=/; HttpOnly\r\n");
  });
});

describe("http proxy failures", () => {
  test("a GET is retried on another endpoint when the first resets before responding", async () => {
    const bad = raw((s) => s.terminate());
    const good = echo("good");
    const { proxy, pool } = proxyFor([bad.port, good.port]);
    const c = await client(proxy.port);
    c.send("GET /r HTTP/1.1\r\nHost: h\r\n\r\n");
    const t = await c.until((x) => x.includes("}"));
    expect(t.startsWith("HTTP/1.1 200")).toBe(true);
    expect(pool.done.map((d) => d.outcome)).toEqual(["reset", 200]);
    expect(proxy.stats().listener.retries).toBe(1);
  });

  test("a POST is NOT retried when the upstream resets before responding", async () => {
    const bad = raw((s) => s.terminate());
    const good = echo("good");
    const { proxy } = proxyFor([bad.port, good.port]);
    const c = await client(proxy.port);
    c.send("POST /r HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi");
    const t = await c.until((x) => x.includes("\r\n\r\n"));
    expect(t.startsWith("HTTP/1.1 502")).toBe(true);
    expect(good.seen.length).toBe(0);
  });

  test("all endpoints down answers 502", async () => {
    const dead = raw(() => {});
    const deadPort = dead.port;
    dead.stop();
    const { proxy } = proxyFor([deadPort]);
    const c = await client(proxy.port);
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    const t = await c.until((x) => x.includes("\r\n\r\n"));
    expect(t.startsWith("HTTP/1.1 502")).toBe(true);
  });

  test("no endpoint to pick answers 503 and the connection keeps serving", async () => {
    const up = echo("a");
    const { proxy, pool } = proxyFor([up.port]);
    const saved = pool.endpoints;
    pool.endpoints = [];
    const c = await client(proxy.port);
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await c.until((x) => x.startsWith("HTTP/1.1 503"));
    pool.endpoints = saved;
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await c.until((x) => x.includes('"name":"a"'));
  });

  test("an upstream that never answers gets 504 after the request timeout", async () => {
    const silent = raw(() => {});
    const { proxy } = proxyFor([silent.port], { requestTimeoutMs: 100 });
    const c = await client(proxy.port);
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    const t = await c.until((x) => x.includes("\r\n\r\n"));
    expect(t.startsWith("HTTP/1.1 504")).toBe(true);
  });
});
