// Locality and spill-over end to end: three agents (the compiled binary) on one real etcd, B and A in zone z1, C in
// z2, each running replicas of one app whose HTTP health check the test can fail per replica. B's balancer
// (`prefer: node`, overprovisioning 1.4) sends everything to B's own replicas while they are healthy; with one of
// two critical (50 % x 1.4 = 70 %) 30 % spills to A, the same zone, and none to C; with both critical all of it
// goes to A; with A's critical too, to C; once B's replicas pass again, all of it comes back to B.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningAgent, requireBinary, startAgent } from "../support/agent.ts";
import { HAVE_ETCD, type RunningEtcd, startEtcd } from "../support/etcd.ts";
import { waitFor } from "../support/wait-for.ts";
import { freePort, getJson, type Json } from "./api-support.ts";

const FIXTURE = join(import.meta.dir, "../fixtures/locality-app-fixture.ts");
const REQUESTS = 100;

describe.skipIf(!HAVE_ETCD)("cluster locality: local first, spill-over by the overprovisioning rule, and back", () => {
  let etcd: RunningEtcd;
  let sickDir: string;
  let a: RunningAgent, b: RunningAgent, c: RunningAgent;
  let lbPort: number;

  const agent = (name: string, zone: string, advertise: string, replicas: number, base: number, extra: Record<string, unknown> = {}) =>
    startAgent({
      config: {
        agent: { name },
        cluster: { etcd: { endpoints: [etcd.url], prefix: "/polis-locality", dial_timeout: "1s" }, node: { name, zone, advertise }, lease_ttl: "3s" },
        apps: [{
          name: "web", command: process.execPath, args: [FIXTURE], env: { SICK_DIR: sickDir, NODE_TAG: name }, replicas,
          port: { range: [base, base + 9] }, readiness: { kind: "port", timeout: "15s" }, stop: { timeout: "2s" },
          checks: [{ name: "http", kind: "http", path: "/healthz", interval: "1s", timeout: "500ms" }],
        }],
        ...extra,
      },
    });

  /** Which node answered each of REQUESTS requests through B's balancer. */
  const tally = async () => {
    const n: Record<string, number> = { "loc-a": 0, "loc-b": 0, "loc-c": 0, failed: 0 };
    for (let i = 0; i < REQUESTS; i++) {
      const r = await fetch(`http://127.0.0.1:${lbPort}/`, { signal: AbortSignal.timeout(3000) }).then(async (x) => (x.ok ? (await x.text()).split(" ")[0]! : "failed"), () => "failed");
      n[r] = (n[r] ?? 0) + 1;
    }
    return n;
  };
  /** Waits until a tally meets `ok` (the catalog and the pool push settle), then asserts it on a fresh tally. */
  const expectTraffic = async (ok: (n: Record<string, number>) => boolean, what: string) => {
    let last: Record<string, number> = {};
    await waitFor(async () => ok((last = await tally())), { timeoutMs: 20_000, what: `${what} (last: ${JSON.stringify(last)})` });
    const n = await tally();
    expect({ what, ok: ok(n), n }).toEqual({ what, ok: true, n });
    return n;
  };
  /** B's view of the web endpoints of `node` (undefined node = B's own). */
  const endpointsOf = async (node: string | undefined) => ((await getJson(b, "/v1/services/default/web")).endpoints as Json[]).filter((e) => e.node === node);
  const sickFile = (e: Json) => join(sickDir, `${e.address}_${e.port}`);
  /** Waits until B's catalog shows `node`'s endpoints with these health states (sorted). */
  const healthOnB = (node: string | undefined, want: string[]) =>
    waitFor(async () => {
      const got = (await endpointsOf(node)).map((e) => String(e.health)).sort();
      return JSON.stringify(got) === JSON.stringify(want) ? true : undefined;
    }, { timeoutMs: 20_000, what: `${node ?? "loc-b"}'s web endpoints ${want.join(",")} on B` });

  beforeAll(async () => {
    requireBinary();
    etcd = await startEtcd();
    sickDir = mkdtempSync(join(tmpdir(), "polis-locality-"));
    lbPort = await freePort();
    const base = 22_000 + Math.floor(Math.random() * 100) * 30;
    [a, c] = await Promise.all([agent("loc-a", "z1", "127.0.0.11", 1, base), agent("loc-c", "z2", "127.0.0.13", 1, base + 10)]);
    b = await agent("loc-b", "z1", "127.0.0.12", 2, base + 20, {
      balancers: [{
        name: "front", listen: `127.0.0.1:${lbPort}`, protocol: "http", backends: { service: "web" }, algorithm: "weighted_round_robin",
        locality: { prefer: "node", overprovisioning: 1.4 }, retries: { max: 0 }, outlier: { enabled: false }, panic_threshold: 0,
      }],
    });
    await healthOnB(undefined, ["passing", "passing"]);
    await healthOnB("loc-a", ["passing"]);
    await healthOnB("loc-c", ["passing"]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a, b, c].map((x) => x?.[Symbol.asyncDispose]()));
    await etcd?.[Symbol.asyncDispose]();
    if (sickDir) rmSync(sickDir, { recursive: true, force: true });
  }, 60_000);

  test("every replica healthy: all traffic stays on B's own replicas", async () => {
    await expectTraffic((n) => n["loc-b"] === REQUESTS, "all on loc-b");
  }, 40_000);

  test("one of B's two replicas critical: B keeps 70 % (50 % healthy x 1.4), 30 % spills to A in the same zone, none to C", async () => {
    const [first] = await endpointsOf(undefined);
    writeFileSync(sickFile(first!), "");
    await healthOnB(undefined, ["critical", "passing"]);
    // Smooth weighted round robin over weights 70:30 is exact over 100 requests; the bounds leave room for the
    // pool push landing inside a tally.
    const n = await expectTraffic((x) => x["loc-b"]! >= 65 && x["loc-b"]! <= 75 && x["loc-a"]! >= 25 && x["loc-c"] === 0 && x.failed === 0, "70/30 between loc-b and loc-a");
    expect(n["loc-b"]! + n["loc-a"]!).toBe(REQUESTS);
  }, 60_000);

  test("both of B's replicas critical: everything goes to A (same zone), still none to C", async () => {
    for (const e of await endpointsOf(undefined)) writeFileSync(sickFile(e), "");
    await healthOnB(undefined, ["critical", "critical"]);
    await expectTraffic((n) => n["loc-a"] === REQUESTS, "all on loc-a");
  }, 60_000);

  test("A's replica critical too: the zone is empty, everything spills to C in the other zone", async () => {
    const [ea] = await endpointsOf("loc-a");
    writeFileSync(sickFile(ea!), "");
    await healthOnB("loc-a", ["critical"]);
    await expectTraffic((n) => n["loc-c"] === REQUESTS, "all on loc-c");
  }, 60_000);

  test("B's replicas pass again: all traffic comes back to B", async () => {
    for (const e of await endpointsOf(undefined)) unlinkSync(sickFile(e));
    await healthOnB(undefined, ["passing", "passing"]);
    await expectTraffic((n) => n["loc-b"] === REQUESTS, "all back on loc-b");
    // B's balancer lists the other nodes' endpoints with the weight locality gave them: 0, listed but not picked.
    const st = await getJson(b, "/v1/balancers/front");
    const remote = (st.endpoints as Json[]).filter((e) => /@loc-[ac]$/.test(String(e.id)));
    expect(remote.map((e) => e.weight)).toEqual([0, 0]);
  }, 60_000);
});
