import { describe, expect, test } from "bun:test";
import { createHttpProxy } from "../../../src/balancer/http-proxy.ts";
import { waitFor } from "../../support/wait-for.ts";
import { echoUpstream, roundRobinPool } from "./support.ts";

function emptyPool() {
  const pool = roundRobinPool([]);
  return Object.assign(pool, { isEmpty: () => pool.endpoints.length === 0 });
}

describe("holding requests while the pool is empty (scale from zero)", () => {
  test("a request that arrives with no endpoint is held and served once one appears", async () => {
    const up = echoUpstream("late");
    const pool = emptyPool();
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool, holdWhenEmptyMs: 10_000 });
    try {
      const pending = fetch(`http://127.0.0.1:${proxy.port}/first`);
      await waitFor(() => proxy.held() === 1, { what: "the request to be held" });
      pool.endpoints.push({ id: `127.0.0.1:${up.port}`, address: "127.0.0.1", port: up.port });
      proxy.wake();
      const res = await pending;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { path: string }).path).toBe("/first");
      expect(proxy.held()).toBe(0);
    } finally {
      await proxy.close(0);
      up.stop();
    }
  });

  test("a held request gets 503 when no endpoint appears within the hold time", async () => {
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: emptyPool(), holdWhenEmptyMs: 300 });
    try {
      const res = await fetch(`http://127.0.0.1:${proxy.port}/`);
      expect(res.status).toBe(503);
      expect(proxy.held()).toBe(0);
    } finally {
      await proxy.close(0);
    }
  });

  test("contrast: without a hold time an empty pool answers 503 at once and holds nothing", async () => {
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool: emptyPool() });
    try {
      const res = await fetch(`http://127.0.0.1:${proxy.port}/`);
      expect(res.status).toBe(503);
      expect(proxy.held()).toBe(0);
    } finally {
      await proxy.close(0);
    }
  });
});
