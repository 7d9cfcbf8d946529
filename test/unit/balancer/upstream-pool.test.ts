import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { UpstreamPool, type UpstreamConn, type UpstreamOwner } from "../../../src/balancer/upstream-pool.ts";
import { waitFor } from "../../support/wait-for.ts";

/** A listener that counts the connections it holds open and the bytes it was sent. */
function countingServer() {
  const st = { open: 0, bytes: 0 };
  const l = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() { st.open++; },
      data(_s: Socket<undefined>, d: Buffer) { st.bytes += d.length; },
      close() { st.open--; },
    },
  });
  return { st, port: l.port, stop: () => l.stop(true) };
}

const owner: UpstreamOwner = { onUpstreamOpen() {}, onUpstreamData() {}, onUpstreamDrain() {}, onUpstreamClose() {} };

describe("upstream pool", () => {
  for (const how of ["abort", "close"] as const) {
    test(`a connection given up on (${how}) before it opened is cut once it opens, and nothing is sent on it`, async () => {
      const srv = countingServer();
      const pool = new UpstreamPool({ maxIdlePerEndpoint: 8, idleTimeoutMs: 60_000 });
      try {
        const ep = { id: `127.0.0.1:${srv.port}`, address: "127.0.0.1", port: srv.port };
        const up: UpstreamConn = pool.acquire(ep, owner, 0);
        up.send(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        up.owner = undefined;
        up[how]();
        expect(up.connected).toBe(false);
        await waitFor(() => up.closed, { timeoutMs: 3_000, what: "the upstream connection to be closed" });
        expect(pool.stats.get(ep.id)!.active).toBe(0);
        await waitFor(() => srv.st.open === 0, { timeoutMs: 3_000, what: "the server to see the connection end" });
        expect(srv.st.bytes).toBe(0);
      } finally {
        pool.closeAll();
        srv.stop();
      }
    });
  }

  test("an endpoint whose address changes under the same id (a live view) gets a new connection, and the old idle one is closed", async () => {
    const a = countingServer();
    const b = countingServer();
    const pool = new UpstreamPool({ maxIdlePerEndpoint: 8, idleTimeoutMs: 60_000 });
    try {
      const record = { port: a.port };
      const ep = { id: "replica-0", address: "127.0.0.1", get port() { return record.port; } };
      const first = pool.acquire(ep, owner, 0);
      await waitFor(() => first.connected, { what: "first connection open" });
      pool.release(first, 0);
      record.port = b.port;
      const second = pool.acquire(ep, owner, 0);
      expect(second).not.toBe(first);
      await waitFor(() => b.st.open === 1, { what: "a connection to the new address" });
      await waitFor(() => a.st.open === 0, { what: "the idle connection to the old address closed" });
    } finally {
      pool.closeAll();
      a.stop();
      b.stop();
    }
  });
});
