// The compiled agent's balancers in front of its own demo app replicas: spreading, draining, TCP mode.
import { describe, expect, test } from "bun:test";
import { allReady, endpoints, load, replyOf, startStack, demoApp } from "../fixtures/it-apps-fixture.ts";
import { waitFor } from "../support/wait-for.ts";

describe("the HTTP balancer in front of app replicas", () => {
  test("requests are spread across every replica, and the API lists each replica with pid, port, ready and no restarts", async () => {
    const { agent, port } = await startStack([demoApp("demo", 3)], { algorithm: "round_robin" });
    await using _ = agent;
    const rs = await allReady(agent, "demo", 3);
    for (const r of rs) {
      expect(r.pid).toBeGreaterThan(0);
      expect(r.port).toBeGreaterThan(0);
      expect(r.state).toBe("ready");
      expect(r.restarts).toBe(0);
    }
    expect(new Set(rs.map((r) => r.port)).size).toBe(3);
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(res.status).toBe(200);
      seen.add(replyOf(await res.text())?.replica ?? "?");
    }
    expect([...seen].sort()).toEqual(rs.map((r) => `demo-${r.id}`).sort());
  }, 60_000);

  test("a drained endpoint gets no new requests from any balancer worker while the others serve every request", async () => {
    // Two workers share the listener: the drain must reach both pools.
    const { agent, port } = await startStack([demoApp("demo", 3)], {}, { balancer_workers: 2 });
    await using _ = agent;
    const rs = await allReady(agent, "demo", 3);
    const victim = rs[0]!;
    const ep = (await endpoints(agent)).find((e) => e.port === victim.port)!;
    expect(ep).toBeDefined();

    const before = load(port);
    try {
      await waitFor(() => before.ok >= 50 && before.byReplica.has(`demo-${victim.id}`), { timeoutMs: 20_000, what: "load reaching the victim" });
      const res = await agent.api(`/v1/balancers/web/endpoints/${ep.id}/drain`, { method: "POST" });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ endpoint: ep.id, drained: true, inFlight: 0 });
    } finally {
      await before.stop();
    }
    expect(before.failures).toEqual([]);

    const after = load(port);
    try {
      await waitFor(() => after.ok >= 200, { timeoutMs: 30_000, what: "200 requests after the drain" });
    } finally {
      await after.stop();
    }
    expect(after.failures).toEqual([]);
    expect(after.byReplica.get(`demo-${victim.id}`) ?? 0).toBe(0);
    expect(after.byReplica.size).toBe(2);
    expect((await endpoints(agent)).find((e) => e.id === ep.id)?.draining).toBe(true);
  }, 90_000);
});

describe("the TCP balancer in front of app replicas", () => {
  test("an HTTP request passes through it unchanged and reaches a replica", async () => {
    const { agent, port } = await startStack([demoApp("demo", 2)], { protocol: "tcp", algorithm: "round_robin" });
    await using _ = agent;
    const rs = await allReady(agent, "demo", 2);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } });
      expect(res.status).toBe(200);
      seen.add(replyOf(await res.text())?.replica ?? "?");
    }
    expect([...seen].sort()).toEqual(rs.map((r) => `demo-${r.id}`).sort());
    const view = (await (await agent.api("/v1/balancers/web")).json()) as { protocol: string };
    expect(view.protocol).toBe("tcp");
  }, 60_000);
});
