// The balancer worker module: a listener that cannot bind is reported with address and errno, retried, and cleared.
import { afterEach, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { createBalancerModule } from "../../../src/balancer/module.ts";
import { toBalancerSpec } from "../../../src/config/balancers.ts";
import { decodeConfig } from "../../../src/config/load.ts";
import type { FromBalancer } from "../../../src/protocol/balancer.ts";
import { waitFor } from "../../support/wait-for.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function balancers(port: number) {
  const r = decodeConfig({ balancers: [{ name: "web", listen: `127.0.0.1:${port}`, protocol: "http", backends: { endpoints: [{ address: "127.0.0.1:1" }] } }] }, "test.yaml");
  if (!r.ok) throw new Error(r.error.message);
  return r.config.balancers.map((b) => toBalancerSpec(b, r.config, 1));
}

function fakePort() {
  const sent: FromBalancer[] = [];
  const port = { send: (m: FromBalancer) => void sent.push(m), queue: (m: FromBalancer) => void sent.push(m), flush() {} };
  return { sent, port: port as never };
}

describe("balancer module bind failures", () => {
  test("a busy address is reported with address and EADDRINUSE, retried, and reported listening once it frees", async () => {
    let busy: TCPSocketListener | undefined = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = busy.port;
    cleanups.push(() => busy?.stop(true));
    const mod = createBalancerModule({ initialMs: 20, factor: 2, capMs: 100, jitter: "none", stableMs: 0, immediateFirst: false });
    const p = fakePort();
    cleanups.push(() => mod.stop?.());
    await mod.start({ index: 0, balancers: balancers(port), pools: {} }, p.port);
    const failed = p.sent.find((m) => m.t === "balancer.listen-failed");
    expect(failed).toMatchObject({ t: "balancer.listen-failed", worker: 0, balancer: "web", address: `127.0.0.1:${port}`, code: "EADDRINUSE", attempt: 1, retryInMs: 20 });
    await waitFor(() => p.sent.filter((m) => m.t === "balancer.listen-failed").length >= 2, { what: "a retry" });
    expect(p.sent.some((m) => m.t === "balancer.listening")).toBe(false);
    busy.stop(true);
    busy = undefined;
    await waitFor(() => p.sent.some((m) => m.t === "balancer.listening"), { what: "listening after the port freed" });
    const res = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.status, () => 0);
    expect(res).toBe(503); // bound and answering (no pool pushed yet)
  });

  test("a free address binds at once: one listening report, no failure (contrast)", async () => {
    const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = l.port;
    l.stop(true);
    const mod = createBalancerModule();
    const p = fakePort();
    cleanups.push(() => mod.stop?.());
    await mod.start({ index: 3, balancers: balancers(port), pools: {} }, p.port);
    expect(p.sent.filter((m) => m.t !== "balancer.stats")).toEqual([{ t: "balancer.listening", worker: 3, balancer: "web", address: `127.0.0.1:${port}` }]);
  });
});
