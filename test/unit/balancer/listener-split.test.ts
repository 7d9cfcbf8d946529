// A rollout's traffic split at a real listener over real upstreams: the revision's share of the requests (HTTP) and
// of the connections (TCP) is the split's percent for each algorithm, whatever the replica count; a new pool
// without a split gives the whole pool back to the algorithm.
import { afterEach, describe, expect, test } from "bun:test";
import { createListener } from "../../../src/balancer/listener.ts";
import { decodeConfig } from "../../../src/config/load.ts";
import { toBalancerSpec } from "../../../src/config/balancers.ts";
import type { BalancerSpec, PoolMember } from "../../../src/protocol/balancer.ts";
import { createSeededRng } from "../../support/seeded-rng.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function balancer(extra: Record<string, unknown>): BalancerSpec {
  const r = decodeConfig({ balancers: [{ name: "b", listen: "127.0.0.1:0", backends: { endpoints: [{ address: "127.0.0.1:1" }] }, ...extra }] }, "test.yaml");
  if (!r.ok) throw new Error(String(r.error.message));
  return toBalancerSpec(r.config.balancers[0]!, r.config, 1);
}

/** 4 upstreams answering their name: e1 runs revision 2 (1 of 4 by count), the others revision 1. */
function upstreams(): PoolMember[] {
  return [0, 1, 2, 3].map((i) => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(`e${i}`) });
    cleanups.push(() => server.stop(true));
    return { id: `e${i}`, address: "127.0.0.1", port: server.port!, weight: 1, health: "passing" as const, draining: false, ...(i === 1 ? { revision: 2 } : {}) };
  });
}

async function requests(port: number, n: number, keyed: boolean): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  const keys = createSeededRng(4);
  let left = n;
  const loop = async () => {
    while (left-- > 0) {
      const headers = keyed ? { "x-user": `user-${Math.floor(keys.next() * 1e9)}` } : undefined;
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers, signal: AbortSignal.timeout(5_000) });
      const name = res.status === 200 ? await res.text() : `status ${res.status}`;
      seen[name] = (seen[name] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 4 }, loop));
  return seen;
}

describe("HTTP listener with a traffic split", () => {
  test.each([
    ["round_robin", 0.5],
    ["least_request", 0.5],
    ["peak_ewma", 0.5],
    ["consistent_hash", 2],
  ] as const)("%s: revision 2 takes 10%% of 4,000 requests (within ±%p points), not the quarter its replica count would give", async (algorithm, tolerance) => {
    const keyed = algorithm === "consistent_hash";
    const l = await createListener(balancer({ algorithm, ...(keyed ? { hash_key: { source: "header", name: "x-user" } } : {}) }), () => {});
    cleanups.push(() => l.close(50));
    const members = upstreams();
    l.setMembers(members, { split: { revision: 2, percent: 10 } });
    const seen = await requests(l.port, 4_000, keyed);
    expect(Object.keys(seen).filter((k) => k.startsWith("status"))).toEqual([]);
    expect(Math.abs(((seen.e1 ?? 0) / 4_000) * 100 - 10)).toBeLessThanOrEqual(tolerance);
    // The old revision's replicas all take traffic (the algorithm picks among them).
    for (const id of ["e0", "e2", "e3"]) expect(seen[id] ?? 0).toBeGreaterThan(600);

    // The split ends with the rollout: the next pool comes without it and the canary's share is its count's again.
    l.setMembers(members.map(({ revision: _, ...m }) => m));
    const after = await requests(l.port, 2_000, keyed);
    expect(after.e1 ?? 0).toBeGreaterThan(300);
  }, 60_000);
});

describe("TCP listener with a traffic split", () => {
  test("round_robin: revision 2 takes 20% of 500 connections", async () => {
    const l = await createListener(balancer({ protocol: "tcp", algorithm: "round_robin" }), () => {});
    cleanups.push(() => l.close(50));
    const ports = new Map<number, string>();
    const members = [0, 1, 2].map((i) => {
      const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open(s) { s.end(`e${i}`); }, data() {} } });
      cleanups.push(() => server.stop(true));
      ports.set(server.port, `e${i}`);
      return { id: `e${i}`, address: "127.0.0.1", port: server.port, weight: 1, health: "passing" as const, draining: false, ...(i === 0 ? { revision: 2 } : {}) };
    });
    l.setMembers(members, { split: { revision: 2, percent: 20 } });
    const seen: Record<string, number> = {};
    for (let k = 0; k < 500; k++) {
      const text = await new Promise<string>((resolve, reject) => {
        let got = "";
        const timer = setTimeout(() => reject(new Error("no answer within 5 s")), 5_000);
        void Bun.connect({ hostname: "127.0.0.1", port: l.port, socket: { data(_s, d) { got += Buffer.from(d).toString(); }, close() { clearTimeout(timer); resolve(got); }, error() {} } });
      });
      seen[text] = (seen[text] ?? 0) + 1;
    }
    expect(seen.e0).toBe(100);
    expect((seen.e1 ?? 0) + (seen.e2 ?? 0)).toBe(400);
  }, 60_000);
});
