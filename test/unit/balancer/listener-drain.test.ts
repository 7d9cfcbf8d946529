// The drain signal of a listener: whenIdle resolves when an endpoint's last in-flight request ends, not before.
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { createListener } from "../../../src/balancer/listener.ts";
import { toBalancerSpec } from "../../../src/config/balancers.ts";
import { decodeConfig } from "../../../src/config/load.ts";
import { waitFor } from "../../support/wait-for.ts";
import { rawClient, rawUpstream } from "./support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listenerWithHeldRequest() {
  const r = decodeConfig({ balancers: [{ name: "b", listen: "127.0.0.1:0", backends: { endpoints: [{ address: "127.0.0.1:1" }] }, retries: { max: 0 } }] }, "test.yaml");
  if (!r.ok) throw new Error(r.error.message);
  const waiting: Socket<undefined>[] = [];
  const up = rawUpstream((s) => void waiting.push(s));
  cleanups.push(() => up.stop());
  const l = await createListener(toBalancerSpec(r.config.balancers[0]!, r.config, 1), () => {});
  cleanups.push(() => l.close(50));
  l.setMembers([{ id: "a", address: "127.0.0.1", port: up.port, weight: 1, health: "passing", draining: false }]);
  const c = await rawClient(l.port);
  cleanups.push(() => c.close());
  return { l, c, waiting };
}

describe("listener drain signal", () => {
  test("an idle endpoint is idle at once", async () => {
    const { l } = await listenerWithHeldRequest();
    let idle = false;
    await l.whenIdle("a").then(() => (idle = true));
    expect(idle).toBe(true);
  });

  test("an endpoint with a request in flight becomes idle when that request ends, not before", async () => {
    const { l, c, waiting } = await listenerWithHeldRequest();
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await waitFor(() => waiting.length > 0, { what: "request at the upstream" });
    let idle = false;
    const p = l.whenIdle("a").then(() => (idle = true));
    // Still in flight: a round trip through the event loop must not settle it.
    await Promise.resolve();
    expect(idle).toBe(false);
    expect(l.active("a")).toBe(1);
    waiting[0]!.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    await c.until((t) => t.endsWith("ok"));
    await p;
    expect(l.active("a")).toBe(0);
  });

  test("an endpoint that leaves the pool releases its drain waiters", async () => {
    const { l, c, waiting } = await listenerWithHeldRequest();
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await waitFor(() => waiting.length > 0, { what: "request at the upstream" });
    const p = l.whenIdle("a");
    l.setMembers([]);
    await p;
  });
});
