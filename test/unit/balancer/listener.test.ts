// A configured listener: connection-limit admission for keyed algorithms, and nothing left running after a bind failure.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createListener } from "../../../src/balancer/listener.ts";
import { decodeConfig } from "../../../src/config/load.ts";
import { toBalancerSpec } from "../../../src/config/balancers.ts";
import type { BalancerSpec } from "../../../src/protocol/balancer.ts";
import { waitFor } from "../../support/wait-for.ts";
import { rawClient, rawUpstream } from "./support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function balancer(extra: Record<string, unknown>): BalancerSpec {
  const r = decodeConfig({ balancers: [{ name: "b", listen: "127.0.0.1:0", protocol: "http", ...extra }] }, "test.yaml");
  if (!r.ok) throw new Error(String(r.error.message));
  return toBalancerSpec(r.config.balancers[0]!, r.config, 1);
}

describe("listener admission", () => {
  test.each(["ip_hash", "consistent_hash", "maglev"])("%s with max_connections_per_endpoint sends a request on to another endpoint when the hashed one is full", async (algorithm) => {
    const waiting: { write(s: string): unknown }[] = [];
    const held = rawUpstream((s) => { waiting.push(s); });
    const other = rawUpstream((s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nother"));
    cleanups.push(() => held.stop(), () => other.stop());
    const cfg = balancer({ algorithm, max_connections_per_endpoint: 1, backends: { endpoints: [{ address: "127.0.0.1:1" }] }, retries: { max: 0 } });
    const l = await createListener(cfg, () => {});
    cleanups.push(() => l.close(50));
    // Which endpoint the client's key hashes to is the algorithm's business: whichever it is holds the request.
    const members = (first: number, second: number) => [
      { id: "a", address: "127.0.0.1", port: first, weight: 1, health: "passing" as const, draining: false },
      { id: "b", address: "127.0.0.1", port: second, weight: 1, health: "passing" as const, draining: false },
    ];
    l.setMembers(members(held.port, other.port));
    const probe = await rawClient(l.port);
    cleanups.push(() => probe.close());
    probe.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    const first = await Promise.race([
      probe.until((t) => t.endsWith("other")).then(() => "other", () => "none"),
      waitFor(() => waiting.length > 0, { what: "request at held" }).then(() => "held", () => "none"),
    ]);
    if (first === "other") {
      // The key hashes to "b": put the held upstream there instead and start over.
      l.setMembers(members(other.port, held.port));
      probe.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      await waitFor(() => waiting.length > 0, { what: "request at held" });
    }
    expect(l.active(first === "other" ? "b" : "a")).toBe(1);
    const c = await rawClient(l.port);
    cleanups.push(() => c.close());
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    const text = await c.until((t) => t.includes("\r\n\r\n") && (t.endsWith("other") || t.includes(" 503 ")));
    expect(text.startsWith("HTTP/1.1 200")).toBe(true);
    waiting[0]!.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nheld");
  });
});

describe("listener bounded loads", () => {
  // Four requests with one key, all held open at the upstreams: unbounded, the key's endpoint takes all four;
  // with hash_balance_factor 1 no endpoint may go above its share of the in-flight total, so they split 2 and 2.
  test.each([
    ["consistent_hash", undefined, [0, 4]],
    ["consistent_hash", 1, [2, 2]],
    ["maglev", undefined, [0, 4]],
    ["maglev", 1, [2, 2]],
  ] as const)("%s with hash_balance_factor %p spreads one hot key's held requests as %p", async (algorithm, factor, split) => {
    const held: { write(s: string): unknown }[] = [];
    const ups = [0, 1].map(() => rawUpstream((s, text) => { if (text.includes("\r\n\r\n")) held.push(s); }));
    cleanups.push(...ups.map((u) => () => u.stop()));
    const cfg = balancer({
      algorithm,
      hash_key: { source: "header", name: "x-user" },
      ...(factor !== undefined ? { hash_balance_factor: factor } : {}),
      backends: { endpoints: [{ address: "127.0.0.1:1" }] },
      retries: { max: 0 },
    });
    const l = await createListener(cfg, () => {});
    cleanups.push(() => l.close(50));
    l.setMembers(ups.map((u, i) => ({ id: `e${i}`, address: "127.0.0.1", port: u.port, weight: 1, health: "passing" as const, draining: false })));
    for (let k = 1; k <= 4; k++) {
      const c = await rawClient(l.port);
      cleanups.push(() => c.close());
      c.send("GET / HTTP/1.1\r\nHost: h\r\nx-user: hot\r\n\r\n");
      await waitFor(() => held.length === k, { what: `request ${k} held at an upstream` });
    }
    expect([l.active("e0"), l.active("e1")].sort()).toEqual([...split]);
    for (const s of held) s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
});

describe("listener bind failure", () => {
  test("a listener that cannot bind leaves no timer behind: the process exits by itself", async () => {
    const busy = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    cleanups.push(() => busy.stop(true));
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../fixtures/listener-bind-fail-fixture.ts"), String(busy.port)], { stdout: "pipe", stderr: "pipe" });
    cleanups.push(() => proc.kill("SIGKILL"));
    const exited = await Promise.race([proc.exited, Bun.sleep(15_000).then(() => "still running")]);
    const out = await new Response(proc.stdout).text().catch(() => "");
    expect(exited).toBe(0);
    expect(out).toContain("bind failed:");
  });
});
