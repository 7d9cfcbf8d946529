import { afterEach, describe, expect, test } from "bun:test";
import { createHttpProxy } from "../../../src/balancer/http-proxy.ts";
import { createPickerPool, hash32 } from "../../../src/balancer/picker-pool.ts";
import type { PickContext, Picker, PoolEndpoint } from "../../../src/core/balancing/picker.ts";
import { countResponses, echoUpstream, rawClient, roundRobinPicker } from "./support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ep = (port: number): PoolEndpoint => ({ id: `127.0.0.1:${port}`, address: "127.0.0.1", port, weight: 1, active: 0 });

describe("picker pool", () => {
  test("a Picker drives the HTTP proxy and gets start/done feedback by index", async () => {
    const a = echoUpstream("a"), b = echoUpstream("b");
    cleanups.push(() => a.stop(), () => b.stop());
    const picker = roundRobinPicker();
    const pool = createPickerPool(picker);
    const eps = [ep(a.port), ep(b.port)];
    pool.setEndpoints(eps);
    const proxy = createHttpProxy({ hostname: "127.0.0.1", port: 0, pool });
    cleanups.push(() => proxy.close(50));
    const c = await rawClient(proxy.port);
    cleanups.push(() => c.close());
    for (let i = 1; i <= 2; i++) {
      c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      await c.until((t) => countResponses(t) === i && t.endsWith("}"));
    }
    expect(picker.starts).toEqual([0, 1]);
    expect(picker.dones).toEqual([[0, true], [1, true]]);
    expect(eps.map((e) => e.active)).toEqual([0, 0]);
  });

  test("a keyed pool hands the picker the hash of the chosen header", () => {
    const seen: number[] = [];
    const picker: Picker = { name: "spy", update() {}, pick(ctx: PickContext) { seen.push(ctx.hash); return 0; } };
    const pool = createPickerPool(picker, { kind: "header", name: "x-user" });
    pool.setEndpoints([ep(1)]);
    const ctx = {
      clientIp: "127.0.0.1", method: "GET", attempt: 0, previous: undefined,
      path: () => "/", header: (n: string) => (n === "x-user" ? "alice" : undefined), cookie: () => undefined,
    };
    expect(pool.pick(ctx)?.port).toBe(1);
    expect(seen).toEqual([hash32("alice")]);
  });

  test("with no eligible endpoint nothing is picked", () => {
    const pool = createPickerPool(roundRobinPicker());
    pool.setEndpoints([]);
    expect(pool.pick({ clientIp: "1.2.3.4", clientPort: 1, attempt: 0, previous: undefined })).toBeUndefined();
  });
});

describe("retries move off the endpoint that just failed", () => {
  /** A picker that always answers the same index, like a load-aware policy favouring a dead, idle endpoint. */
  const stubborn = (i: number): Picker => ({ name: "stubborn", update() {}, pick: () => i });
  const ctx = (previous?: PoolEndpoint) => ({ clientIp: "127.0.0.1", clientPort: 1, attempt: previous ? 1 : 0, previous });

  test("a retry never gets the previous endpoint back when another exists", () => {
    const pool = createPickerPool(stubborn(0));
    const eps = [ep(1), ep(2), ep(3)];
    pool.setEndpoints(eps);
    expect(pool.pick(ctx())).toBe(eps[0]);
    expect(pool.pick(ctx(eps[0]))).not.toBe(eps[0]);
  });

  test("contrast: with a single endpoint the retry goes to it again rather than nowhere", () => {
    const pool = createPickerPool(stubborn(0));
    const eps = [ep(1)];
    pool.setEndpoints(eps);
    expect(pool.pick(ctx(eps[0]))).toBe(eps[0]);
  });

});

describe("picker pool feedback across updates", () => {
  test("a request that started before a pool update reports done to the endpoint's new index", () => {
    const dones: number[] = [];
    const picker: Picker = { name: "spy", update() {}, pick: () => 0, onDone: (i) => void dones.push(i) };
    const pool = createPickerPool(picker);
    const [a, b] = [ep(1), ep(2)];
    pool.setEndpoints([a, b]);
    pool.onStart?.(b);
    // The pool is rebuilt with fresh endpoint objects (as buildPool makes), in another order.
    const b2 = { ...b }, a2 = { ...a };
    pool.setEndpoints([b2, a2]);
    pool.onDone?.(b, 5, 200);
    expect(dones).toEqual([0]);
  });
});
