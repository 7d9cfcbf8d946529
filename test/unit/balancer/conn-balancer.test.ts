// Two HTTP proxies sharing one port (SO_REUSEPORT, as the balancer workers do) even out their keep-alive
// connections through the connection balance: real sockets, real runners talking on a BroadcastChannel.
import { afterEach, describe, expect, test } from "bun:test";
import { CONN_BALANCER_DEFAULTS, startConnBalancer } from "../../../src/balancer/conn-balancer.ts";
import { createHttpProxy, type HttpProxy } from "../../../src/balancer/http-proxy.ts";
import { countResponses, echoUpstream, rawClient, roundRobinPool, type RawClient } from "./support.ts";
import { waitFor } from "../../support/wait-for.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const GET = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

/** One request on the client's connection; true when the proxy said it closes the connection after it. */
async function request(c: RawClient, n: number): Promise<boolean> {
  c.send(GET);
  const text = await c.until((t) => countResponses(t) >= n && t.endsWith("}"), "response");
  const last = text.slice(text.lastIndexOf("HTTP/1.1 "));
  expect(last.startsWith("HTTP/1.1 200")).toBe(true);
  return /\r\nconnection: close\r\n/i.test(last);
}

describe("connection balance between balancer workers", () => {
  test("connections that all landed on one worker are spread over both by closing some after a response", async () => {
    const up = echoUpstream("u");
    cleanups.push(() => up.stop());
    const a: HttpProxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([up.port]) });
    cleanups.push(() => a.close(100));
    // 30 keep-alive connections while the first worker is the only one listening.
    const clients: { c: RawClient; n: number }[] = [];
    for (let i = 0; i < 30; i++) clients.push({ c: await rawClient(a.port), n: 0 });
    cleanups.push(() => clients.forEach((x) => x.c.close()));
    await waitFor(() => a.connections() === 30, { what: "30 connections on the first proxy" });
    const b: HttpProxy = createHttpProxy({ hostname: "127.0.0.1", port: a.port, pool: roundRobinPool([up.port]) });
    cleanups.push(() => b.close(100));

    const channel = `polis.test.${process.pid}.${Math.random()}`;
    const opts = { ...CONN_BALANCER_DEFAULTS, tickMs: 10, channel };
    const episodes: { worker: number; held: number; shed: number }[] = [];
    const runners = [0, 1].map((w) => startConnBalancer(() => w, () => [["h", { connections: () => (w === 0 ? a : b).connections(), shed: (n: number) => (w === 0 ? a : b).shed(n) }]], opts,
      (e) => episodes.push({ worker: w, held: e.held, shed: e.shed })));
    cleanups.push(() => runners.forEach((r) => r.stop()));

    // Clients keep sending; one told "Connection: close" reconnects, and the kernel hashes its new connection.
    let closes = 0;
    for (let round = 0; round < 40 && Math.abs(a.connections() - b.connections()) > 4; round++) {
      await Bun.sleep(30); // a few ticks: both runners have each other's latest counts
      for (const x of clients) {
        if (await request(x.c, ++x.n)) {
          closes++;
          await x.c.untilClosed();
          x.c = await rawClient(a.port);
          x.n = 0;
        }
      }
      await waitFor(() => a.connections() + b.connections() === 30, { what: "every client reconnected" });
    }
    expect(a.connections() + b.connections()).toBe(30);
    expect(Math.abs(a.connections() - b.connections())).toBeLessThanOrEqual(4);
    // Only what the imbalance needed was closed (15 moved at least; never the whole set over and over).
    expect(closes).toBeGreaterThanOrEqual(11);
    expect(closes).toBeLessThan(90);
    expect(b.connections()).toBeGreaterThanOrEqual(13);
    // The start of the episode was reported once (rate-limited), by the worker that held them all.
    expect(episodes.length).toBe(1);
    expect(episodes[0]).toMatchObject({ worker: 0, held: 30, shed: 15 });
  });

  test("a single worker (no peers on the channel) never closes a keep-alive connection", async () => {
    const up = echoUpstream("u");
    cleanups.push(() => up.stop());
    const a = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([up.port]) });
    cleanups.push(() => a.close(100));
    const runner = startConnBalancer(() => 0, () => [["h", { connections: () => a.connections(), shed: (n: number) => a.shed(n) }]], { ...CONN_BALANCER_DEFAULTS, tickMs: 10, channel: `polis.test.${process.pid}.${Math.random()}` });
    cleanups.push(() => runner.stop());
    const clients: RawClient[] = [];
    for (let i = 0; i < 12; i++) clients.push(await rawClient(a.port));
    cleanups.push(() => clients.forEach((c) => c.close()));
    for (let n = 1; n <= 3; n++) {
      await Bun.sleep(25);
      for (const c of clients) expect(await request(c, n)).toBe(false);
    }
    expect(a.connections()).toBe(12);
  });
});
