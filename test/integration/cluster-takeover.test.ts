// `polis agent --takeover` on a cluster node: the successor registers the same node name, and the outgoing agent
// must not leave (a leave rewrites the node key under its own lease and revokes it, deleting the successor's key).
// A watch on etcd from before the takeover sees no delete of the node's keys, and they outlive the old lease's TTL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createEtcdClient, type EtcdClient, type WatchEvent } from "../../src/cluster/etcd.ts";
import { type RunningAgent, requireBinary, startAgent } from "../support/agent.ts";
import { HAVE_ETCD, type RunningEtcd, startEtcd } from "../support/etcd.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson } from "./api-support.ts";

const LEASE_TTL_S = 2;
const PREFIX = "/polis-takeover";

describe.skipIf(!HAVE_ETCD)("takeover of a cluster node", () => {
  let etcd: RunningEtcd;
  let client: EtcdClient;
  let old: RunningAgent;
  let next: RunningAgent | undefined;

  beforeAll(async () => {
    requireBinary();
    etcd = await startEtcd();
    client = createEtcdClient({ endpoints: [etcd.url], dialTimeoutMs: 1000 });
    old = await startAgent({
      config: {
        agent: { name: "node-t" },
        cluster: { etcd: { endpoints: [etcd.url], prefix: PREFIX, dial_timeout: "1s" }, node: { name: "node-t", zone: "z1", advertise: "127.0.0.11" }, lease_ttl: `${LEASE_TTL_S}s` },
        services: [{ name: "db", endpoints: [{ address: "127.0.0.11", port: 5432 }] }],
      },
    });
  }, 60_000);

  afterAll(async () => {
    await next?.[Symbol.asyncDispose]();
    await old?.[Symbol.asyncDispose]();
    await etcd?.[Symbol.asyncDispose]();
  }, 60_000);

  test("the successor holds the node and endpoint keys throughout: no delete, no leaving mark, alive after the old lease's TTL", async () => {
    await waitFor(async () => (await client.range(`${PREFIX}/endpoints/node-t/`, { prefix: true })).kvs.length === 1, { timeoutMs: 15_000, what: "the old agent's endpoint in etcd" });
    const before = await client.range(`${PREFIX}/nodes/node-t`, { prefix: false });
    const oldLease = before.kvs[0]!.lease;
    const events: WatchEvent[] = [];
    const stopWatch = new AbortController();
    const watching = client.watch(`${PREFIX}/`, { prefix: true, startRevision: String(BigInt(before.revision) + 1n), signal: stopWatch.signal }, (evs) => events.push(...evs)).catch(() => {});

    next = await startAgent({ sameDirAs: old, args: ["--takeover"], readyTimeoutMs: 60_000 });
    expect(await old.proc.exited).toBe(0);
    // Past the old lease's TTL: had any key stayed under it, etcd would have deleted it by now.
    await Bun.sleep((LEASE_TTL_S + 1) * 1000);
    stopWatch.abort();
    await watching;

    expect(events.filter((e) => e.type === "delete").map((e) => e.key)).toEqual([]);
    expect(events.some((e) => e.key === `${PREFIX}/nodes/node-t` && e.type === "put" && e.value.includes('"leaving"'))).toBe(false);
    const node = await client.range(`${PREFIX}/nodes/node-t`, { prefix: false });
    expect(node.kvs.length).toBe(1);
    expect(node.kvs[0]!.lease).not.toBe(oldLease);
    const eps = await client.range(`${PREFIX}/endpoints/node-t/`, { prefix: true });
    expect(eps.kvs.map((k) => k.lease)).toEqual([node.kvs[0]!.lease]);
    const status = await getJson(next, "/v1/cluster/status");
    expect(status).toMatchObject({ connected: true, leaseId: node.kvs[0]!.lease });
    expect(old.lines.some((l) => l.msg === "handed this node's cluster registration over without leaving")).toBe(true);
  }, 90_000);
});
