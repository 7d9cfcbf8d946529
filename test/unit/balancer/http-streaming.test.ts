import { afterEach, describe, expect, test } from "bun:test";
import { createHttpProxy } from "../../../src/balancer/http-proxy.ts";
import { rawClient, roundRobinPool } from "./support.ts";
import { waitFor } from "../../support/wait-for.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const MB = 1024 * 1024;

/** Write all of `data`, waiting for the socket to take it (backpressure on the client side). */
async function writeAll(sock: { write(d: Uint8Array): number }, data: Uint8Array): Promise<void> {
  let off = 0;
  const deadline = Date.now() + 20_000;
  while (off < data.length) {
    const n = sock.write(data.subarray(off, Math.min(off + 256 * 1024, data.length)));
    if (n > 0) off += n;
    else await Bun.sleep(1);
    if (Date.now() > deadline) throw new Error("writeAll stalled");
  }
}

describe("http proxy streaming", () => {
  test("a 12 MB upload reaches the upstream before the client has finished sending it", async () => {
    let received = 0;
    let resolveHalf!: () => void;
    const half = new Promise<void>((r) => { resolveHalf = r; });
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        for await (const part of req.body!) {
          received += part.length;
          if (received >= 2 * MB) resolveHalf();
        }
        return new Response(`got ${received}`);
      },
    });
    cleanups.push(() => server.stop(true));
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([server.port!]) });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port);
    cleanups.push(() => c.close());
    const total = 12 * MB;
    c.send(`PUT /up HTTP/1.1\r\nHost: h\r\nContent-Length: ${total}\r\n\r\n`);
    await writeAll(c.sock, new Uint8Array(4 * MB).fill(97));
    // The upstream has seen bytes while 8 MB are still unsent: nothing buffers the whole body.
    await half;
    expect(received).toBeLessThan(total);
    await writeAll(c.sock, new Uint8Array(8 * MB).fill(98));
    await c.until((t) => t.endsWith(`got ${total}`));
  });

  test("a 12 MB download streams to the client while the upstream is still producing it", async () => {
    let clientGotFirst!: () => void;
    const firstArrived = new Promise<void>((r) => { clientGotFirst = r; });
    const chunk = new Uint8Array(MB).fill(120);
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch() {
        let sent = 0;
        return new Response(new ReadableStream({
          async pull(ctrl) {
            if (sent === 2) await firstArrived; // the rest is produced only after the client saw bytes
            if (sent === 12) return ctrl.close();
            sent++;
            ctrl.enqueue(chunk);
          },
        }), { headers: { "Content-Length": String(12 * MB) } });
      },
    });
    cleanups.push(() => server.stop(true));
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([server.port!]) });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port);
    cleanups.push(() => c.close());
    c.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
    await waitFor(() => c.bytes() > MB, { what: "first megabyte at the client" });
    clientGotFirst();
    await waitFor(() => c.bytes() >= 12 * MB, { what: "whole body", timeoutMs: 20_000 });
    expect(proxy.stats().listener.bytesOut).toBeGreaterThan(12 * MB);
  });

  test("a WebSocket upgrade is passed through and messages echo both ways", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req, srv) {
        return srv.upgrade(req) ? undefined : new Response("no", { status: 400 });
      },
      websocket: { message(ws, m) { ws.send(`echo:${m}`); } },
    });
    cleanups.push(() => server.stop(true));
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool([server.port!]) });
    cleanups.push(() => proxy.close(50));
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/ws`);
    cleanups.push(() => ws.close());
    const got: string[] = [];
    ws.onmessage = (e) => got.push(String(e.data));
    await waitFor(() => ws.readyState === WebSocket.OPEN, { what: "ws open" });
    ws.send("one");
    ws.send("two");
    await waitFor(() => got.length === 2, { what: "echoes" });
    expect(got).toEqual(["echo:one", "echo:two"]);
    expect(proxy.stats().listener.responses[1]).toBe(1);
  });
});
