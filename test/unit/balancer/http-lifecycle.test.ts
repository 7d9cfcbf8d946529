import { afterEach, describe, expect, test } from "bun:test";
import { createHttpProxy } from "../../../src/balancer/http-proxy.ts";
import { countResponses, echoUpstream, rawClient, rawUpstream, roundRobinPool } from "./support.ts";
import { waitFor } from "../../support/wait-for.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An upstream that answers only when the test says so. */
function heldUpstream() {
  const waiting: { write(s: string): unknown }[] = [];
  const up = rawUpstream((s) => { waiting.push(s); });
  cleanups.push(() => up.stop());
  return {
    port: up.port,
    waiting,
    answer: () => waiting.shift()!.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nheld"),
  };
}

describe("http proxy lifecycle", () => {
  test("an endpoint taken out of the pool finishes its in-flight request while new ones go elsewhere", async () => {
    const held = heldUpstream();
    const other = echoUpstream("other");
    cleanups.push(() => other.stop());
    const pool = roundRobinPool([held.port, other.port]);
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool });
    cleanups.push(() => proxy.close(50));
    const a = await rawClient(proxy.port);
    cleanups.push(() => a.close());
    a.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
    await waitFor(() => held.waiting.length === 1, { what: "request at the held upstream" });
    pool.endpoints = pool.endpoints.filter((e) => e.port !== held.port); // drain: no new picks
    const b = await rawClient(proxy.port);
    cleanups.push(() => b.close());
    b.send("GET /new HTTP/1.1\r\nHost: h\r\n\r\n");
    await b.until((t) => t.includes('"name":"other"'));
    held.answer();
    await a.until((t) => t.endsWith("held"));
  });

  test("close() stops accepting but lets an in-flight request finish", async () => {
    const held = heldUpstream();
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([held.port]) });
    const c = await rawClient(proxy.port);
    cleanups.push(() => c.close());
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await waitFor(() => held.waiting.length === 1, { what: "request at upstream" });
    const closing = proxy.close(5_000);
    await expect(rawClient(proxy.port)).rejects.toThrow();
    held.answer();
    const t = await c.until((x) => x.endsWith("held"));
    expect(t).toContain("Connection: close\r\n");
    await closing;
    await c.untilClosed();
  });

  test("close() answers a request that reaches an idle keep-alive connection just after it, with Connection: close", async () => {
    const up = echoUpstream("a");
    cleanups.push(() => up.stop());
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([up.port]) });
    const c = await rawClient(proxy.port);
    cleanups.push(() => c.close());
    c.send("GET /first HTTP/1.1\r\nHost: h\r\n\r\n");
    await c.until((t) => countResponses(t) === 1 && t.endsWith("}"));
    const closing = proxy.close(5_000);
    c.send("GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
    const t = await c.until((x) => countResponses(x) === 2 && x.endsWith("}"));
    expect(t.slice(t.lastIndexOf("HTTP/1.1 "))).toContain("Connection: close\r\n");
    await c.untilClosed();
    await closing;
  });

  test("contrast: close() ends an idle keep-alive connection that sends nothing, long before the grace is over", async () => {
    const up = echoUpstream("a");
    cleanups.push(() => up.stop());
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([up.port]) });
    const c = await rawClient(proxy.port);
    cleanups.push(() => c.close());
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await c.until((t) => countResponses(t) === 1 && t.endsWith("}"));
    // A 60 s grace: untilClosed (8 s) would time out if the idle connection were held for all of it.
    const closing = proxy.close(60_000);
    await c.untilClosed();
    await closing;
    expect(countResponses(c.received())).toBe(1);
  });

  test("an idle client connection is closed after the idle timeout", async () => {
    const up = echoUpstream("a");
    cleanups.push(() => up.stop());
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([up.port]), clientIdleTimeoutMs: 50 });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port);
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await c.until((t) => countResponses(t) === 1 && t.endsWith("}"));
    await c.untilClosed();
    expect(proxy.stats().listener.active).toBe(0);
  });

  test("stats count requests, status classes, bytes and latency per listener and endpoint, and reset", async () => {
    const up = rawUpstream((s, t) => s.write(t.includes("/missing") ? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n" : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    cleanups.push(() => up.stop());
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([up.port]) });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port);
    cleanups.push(() => c.close());
    c.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    await c.until((t) => countResponses(t) === 1);
    c.send("GET /missing HTTP/1.1\r\nHost: h\r\n\r\n");
    await c.until((t) => countResponses(t) === 2);
    const s = proxy.stats(true);
    expect(s.listener.requests).toBe(2);
    expect(s.listener.responses.slice(1)).toEqual([0, 1, 0, 1, 0]);
    expect(s.listener.active).toBe(1);
    expect(s.listener.bytesOut).toBe(c.bytes());
    expect(s.listener.latency.count).toBe(2);
    expect(s.listener.latency.p99Ms).toBeGreaterThan(0);
    const ep = s.endpoints[`127.0.0.1:${up.port}`];
    expect(ep.requests).toBe(2);
    expect(ep.responses[4]).toBe(1);
    const after = proxy.stats();
    expect(after.listener.requests).toBe(0);
    expect(after.listener.active).toBe(1);
  });
});
