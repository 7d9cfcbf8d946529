// Client-side and server-side timeouts over real sockets: a slow reader is not an upstream failure; a trickled body is bounded.
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { createHttpProxy } from "../../../src/balancer/http-proxy.ts";
import { waitFor } from "../../support/wait-for.ts";
import { rawClient, rawUpstream, roundRobinPool } from "./support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const BODY = 32 * 1024 * 1024;

/** An upstream that answers every request with BODY bytes, writing as fast as the proxy takes them; `stalled` once it must wait. */
function bigUpstream() {
  const u = { port: 0, stalled: false };
  const chunk = Buffer.alloc(256 * 1024, 120);
  const pump = (s: Socket<{ left: number }>) => {
    while (s.data.left > 0) {
      const part = s.data.left >= chunk.length ? chunk : chunk.subarray(0, s.data.left);
      const n = s.write(part);
      if (n > 0) s.data.left -= n;
      if (n < part.length) {
        u.stalled = true;
        return;
      }
    }
  };
  const l = Bun.listen<{ left: number }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) { s.data = { left: 0 }; },
      data(s) {
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY}\r\n\r\n`);
        s.data.left = BODY;
        pump(s);
      },
      drain(s) { pump(s); },
      error() {},
    },
  });
  u.port = l.port;
  cleanups.push(() => l.stop(true));
  return u;
}

describe("http proxy timeouts", () => {
  test("a client slower than the server timeout gets the whole response and the upstream is not reported failed", async () => {
    const up = bigUpstream();
    const pool = roundRobinPool([up.port]);
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool, requestTimeoutMs: 300, clientIdleTimeoutMs: 10_000 });
    cleanups.push(() => proxy.close(50));
    let received = 0;
    let closed = false;
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port: proxy.port,
      socket: {
        data(_s, d) { received += d.length; },
        close() { closed = true; },
        error() {},
      },
    });
    cleanups.push(() => sock.end());
    sock.pause();
    sock.write("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    // The whole chain backs up: the proxy stops reading the upstream for this client.
    await waitFor(() => up.stalled, { what: "upstream stalled behind the slow client", timeoutMs: 8_000 });
    // The client stays away for several server timeouts (this is the slow client, not a wait for a result).
    await Bun.sleep(1_200);
    sock.resume();
    await waitFor(() => received >= BODY || closed, { what: "whole response or close", timeoutMs: 20_000 });
    expect(closed).toBe(false);
    expect(received).toBeGreaterThan(BODY);
    expect(pool.done).toEqual([{ id: `127.0.0.1:${up.port}`, outcome: 200 }]);
  });

  test("a client that never reads is cut after the client timeout, reported as the client's doing (contrast)", async () => {
    const up = bigUpstream();
    const pool = roundRobinPool([up.port]);
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool, requestTimeoutMs: 5_000, clientIdleTimeoutMs: 200 });
    cleanups.push(() => proxy.close(50));
    let closed = false;
    const sock = await Bun.connect({ hostname: "127.0.0.1", port: proxy.port, socket: { data() {}, close() { closed = true; }, error() {} } });
    cleanups.push(() => sock.end());
    sock.pause();
    sock.write("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    await waitFor(() => pool.done.length > 0, { what: "the exchange to end", timeoutMs: 8_000 });
    expect(pool.done).toEqual([{ id: `127.0.0.1:${up.port}`, outcome: "client" }]);
    sock.resume();
    await waitFor(() => closed, { what: "client cut", timeoutMs: 8_000 });
  });

  test("a request body trickled a byte at a time gets 408 at the request timeout", async () => {
    const up = rawUpstream(() => {}); // waits for the whole body, as most servers do
    cleanups.push(() => up.stop());
    const pool = roundRobinPool([up.port]);
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool, requestTimeoutMs: 300, clientIdleTimeoutMs: 10_000 });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port);
    cleanups.push(() => c.close());
    c.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n");
    // One byte every 20 ms: each is well inside the timeout, the whole body would take 20 s.
    for (let i = 0; i < 1000 && !c.closed; i++) {
      c.send("b");
      await Bun.sleep(20);
    }
    await c.untilClosed();
    expect(c.received().startsWith("HTTP/1.1 408")).toBe(true);
    expect(pool.done).toEqual([{ id: `127.0.0.1:${up.port}`, outcome: "client" }]);
  });
});
