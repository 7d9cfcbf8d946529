import { afterEach, describe, expect, test } from "bun:test";
import { createTcpProxy } from "../../../src/balancer/tcp-proxy.ts";
import { createUdpProxy } from "../../../src/balancer/udp-proxy.ts";
import { rawClient, rawUpstream, roundRobinPool } from "./support.ts";
import { waitFor } from "../../support/wait-for.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("tcp proxy", () => {
  test("bytes flow both ways and a client FIN reaches the upstream while replies still flow back", async () => {
    let upstreamSawEnd = false;
    const listener = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      allowHalfOpen: true,
      socket: {
        data(s, d) { s.write(`echo:${Buffer.from(d).toString()}`); },
        end(s) {
          upstreamSawEnd = true;
          // The client's side is closed; our direction must still reach it.
          s.write("after-fin");
          s.end();
        },
      },
    });
    cleanups.push(() => listener.stop(true));
    const pool = roundRobinPool([listener.port]);
    const proxy = createTcpProxy({ hostname: "127.0.0.1", port: 0, pool });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port);
    c.send("hello");
    await c.until((t) => t === "echo:hello");
    c.sock.shutdown(); // half-close: we stop sending but keep reading
    await c.until((t) => t.endsWith("after-fin"));
    expect(upstreamSawEnd).toBe(true);
    await c.untilClosed();
    expect(proxy.stats().listener.bytesIn).toBe(5);
  });

  test("a connect failure is retried on another endpoint", async () => {
    const dead = rawUpstream(() => {});
    const deadPort = dead.port;
    dead.stop();
    const live = rawUpstream((s, t) => s.write(t.toUpperCase()));
    cleanups.push(() => live.stop());
    const pool = roundRobinPool([deadPort, live.port]);
    const proxy = createTcpProxy({ hostname: "127.0.0.1", port: 0, pool });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port);
    cleanups.push(() => c.close());
    c.send("abc");
    await c.until((t) => t === "ABC");
    expect(pool.done[0].outcome).toBe("connect");
    expect(proxy.stats().listener.retries).toBe(1);
  });

  test("with every endpoint down the client connection is closed", async () => {
    const dead = rawUpstream(() => {});
    const deadPort = dead.port;
    dead.stop();
    const proxy = createTcpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([deadPort]), maxRetries: 1 });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port);
    await c.untilClosed();
    expect(proxy.stats().listener.errors).toBe(1);
  });
});

describe("udp proxy", () => {
  test("replies are routed back to the client that sent the datagram", async () => {
    const upstream = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data(s, d, port, addr) { s.send(Buffer.from(`re:${Buffer.from(d).toString()}`), port, addr); } },
    });
    cleanups.push(() => upstream.close());
    const proxy = await createUdpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([upstream.port]) });
    cleanups.push(() => proxy.close());
    const got: Record<string, string[]> = { a: [], b: [] };
    const mk = async (name: "a" | "b") => {
      const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data(_s, d) { got[name].push(Buffer.from(d).toString()); } } });
      cleanups.push(() => s.close());
      return s;
    };
    const a = await mk("a"), b = await mk("b");
    a.send(Buffer.from("one"), proxy.port, "127.0.0.1");
    b.send(Buffer.from("two"), proxy.port, "127.0.0.1");
    await waitFor(() => got.a.length === 1 && got.b.length === 1, { what: "replies" });
    expect(got).toEqual({ a: ["re:one"], b: ["re:two"] });
    expect(proxy.mappings).toBe(2);
  });

  test("an idle client mapping is dropped after the idle timeout", async () => {
    const upstream = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data(s, d, p, a) { s.send(d, p, a); } } });
    cleanups.push(() => upstream.close());
    const proxy = await createUdpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([upstream.port]), idleTimeoutMs: 40 });
    cleanups.push(() => proxy.close());
    let replies = 0;
    const c = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() { replies++; } } });
    cleanups.push(() => c.close());
    c.send(Buffer.from("x"), proxy.port, "127.0.0.1");
    await waitFor(() => replies === 1, { what: "reply" });
    await waitFor(() => proxy.mappings === 0, { what: "mapping dropped" });
  });
});
