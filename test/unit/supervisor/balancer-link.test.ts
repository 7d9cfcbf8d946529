import { describe, expect, test } from "bun:test";
import type { ToBalancer } from "../../../src/protocol/balancer.ts";
import type { MetricSample } from "../../../src/protocol/scaler.ts";
import { type CatalogOverrides, createCatalog } from "../../../src/state/catalog.ts";
import { createBalancerLink } from "../../../src/supervisor/balancer-link.ts";
import { configOf, recordingEvents, recordingTelemetry } from "./link-fakes.ts";

const RAW = {
  apps: [{ name: "web", command: "true", replicas: 1, port: { range: [20000, 20009] } }],
  balancers: [
    { name: "front", listen: "127.0.0.1:0", backends: { app: "web" } },
    { name: "static", listen: "127.0.0.1:0", backends: { endpoints: [{ address: "127.0.0.1:9001" }, { address: "127.0.0.1:9002", weight: 3 }] } },
  ],
};

function setup(overrides?: CatalogOverrides) {
  const config = configOf(RAW);
  const catalog = createCatalog(overrides ? { overrides } : {});
  catalog.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {}, endpoints: [] }, "app");
  const sent: Array<Array<ToBalancer | { t: string; balancer: string; endpoint: string }>> = [[], []];
  /** What each worker still has in flight when its drain is answered. */
  const inFlight = [0, 0];
  const workers = sent.map((box, i) => ({
    send: (m: ToBalancer) => void box.push(m),
    request: async (m: { t: string; balancer: string; endpoint: string }) => {
      box.push(m);
      return { inFlight: inFlight[i] };
    },
  }));
  const samples: MetricSample[] = [];
  const { events, publish } = recordingEvents();
  const { telemetry } = recordingTelemetry();
  const link = createBalancerLink({ config: () => config, catalog, publish, telemetry, balancerHosts: () => workers as never }, (s) => void samples.push(...s));
  const pool = (worker: number, balancer: string) => (sent[worker]!.filter((m) => m.t === "balancer.pool" && m.balancer === balancer) as ToBalancer[]).at(-1);
  return { link, catalog, sent, samples, events, pool, inFlight };
}

describe("balancer link", () => {
  test("pools are the app's catalog endpoints and the static ones, with their weights", () => {
    const s = setup();
    s.catalog.upsertEndpoint("default", "web", { id: "web-0", address: "127.0.0.1", port: 20000, protocol: "http", weight: 1, metadata: {} });
    const pools = s.link.state();
    expect(pools.front!.map((m) => m.id)).toEqual(["web-0"]);
    expect(pools.static!.map((m) => [m.id, m.address, m.port, m.weight])).toEqual([
      ["127.0.0.1:9001", "127.0.0.1", 9001, 1],
      ["127.0.0.1:9002", "127.0.0.1", 9002, 3],
    ]);
  });

  test("a burst of catalog changes is pushed to every worker once, after the burst", async () => {
    const s = setup();
    s.catalog.upsertEndpoint("default", "web", { id: "web-0", address: "127.0.0.1", port: 20000, protocol: "http", weight: 1, metadata: {} });
    s.catalog.upsertEndpoint("default", "web", { id: "web-1", address: "127.0.0.1", port: 20001, protocol: "http", weight: 1, metadata: {} });
    await Promise.resolve();
    for (const w of [0, 1]) {
      expect(s.sent[w]!.filter((m) => m.t === "balancer.pool" && "balancer" in m && m.balancer === "front").length).toBe(1);
      const p = s.pool(w, "front");
      expect(p && p.t === "balancer.pool" ? p.members.map((m) => m.id) : []).toEqual(["web-0", "web-1"]);
    }
  });

  test("draining a static endpoint marks it draining in the pushed pool; a weight change is pushed too", async () => {
    const s = setup();
    await s.link.drain("static", "127.0.0.1:9001");
    s.link.setWeight("static", "127.0.0.1:9002", 9);
    await Promise.resolve();
    const p = s.pool(0, "static");
    expect(p && p.t === "balancer.pool" ? p.members.map((m) => [m.id, m.draining, m.weight]) : []).toEqual([
      ["127.0.0.1:9001", true, 1],
      ["127.0.0.1:9002", false, 9],
    ]);
  });

  test("a static endpoint's drain and weight are the catalog's persisted overrides: an agent restarted on them keeps both", async () => {
    const before = setup();
    await before.link.drain("static", "127.0.0.1:9001");
    before.link.setWeight("static", "127.0.0.1:9002", 9);
    // What the store holds is what the next agent's catalog starts from.
    const persisted = before.catalog.overrides();
    const after = setup(persisted);
    expect(after.link.state().static!.map((m) => [m.id, m.draining, m.weight])).toEqual([
      ["127.0.0.1:9001", true, 1],
      ["127.0.0.1:9002", false, 9],
    ]);
    // The contrast: a fresh agent with no overrides has neither.
    expect(setup().link.state().static!.map((m) => [m.id, m.draining, m.weight])).toEqual([
      ["127.0.0.1:9001", false, 1],
      ["127.0.0.1:9002", false, 3],
    ]);
  });

  test("an ejection is an event and shows in the view until it ends", () => {
    const s = setup();
    s.link.handle({ t: "balancer.ejection", balancer: "static", endpoint: "127.0.0.1:9001", action: "eject", reason: "5xx", forMs: 30_000, timesEjected: 1 });
    expect(s.link.view("static")!.endpoints[0]!.ejected).toBe(true);
    s.link.handle({ t: "balancer.ejection", balancer: "static", endpoint: "127.0.0.1:9001", action: "uneject", reason: "", forMs: 0, timesEjected: 1 });
    expect(s.link.view("static")!.endpoints[0]!.ejected).toBe(false);
    expect(s.events.map((e) => e.type)).toEqual(["balancer.ejected", "balancer.unejected"]);
  });

  test("held requests are demand for the scaler even with no replica to report it", () => {
    const s = setup();
    const zero = { requests: 0, responses: [0, 0, 0, 0, 0, 0], errors: 0, retries: 0, bytesIn: 0, bytesOut: 0, active: 0, latency: { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0 }, buckets: [], sumUs: 0 };
    for (const worker of [0, 1]) {
      for (const balancer of ["front", "static"]) {
        s.link.handle({ t: "balancer.stats", worker, balancer, listener: zero as never, endpoints: {}, panic: false, held: balancer === "front" ? 2 : 0 });
      }
    }
    expect(s.samples.filter((x) => x.metric === "rps_per_replica")).toEqual([expect.objectContaining({ app: "web", value: 4 })]);
    s.link.stop();
  });

  test("the view shows lifetime totals across every round, and per-second rates over the last window, named so", () => {
    const s = setup();
    const round = (requests: number, fiveXx: number) => ({
      requests, responses: [0, 0, requests - fiveXx, 0, 0, fiveXx], errors: 0, retries: 0, bytesIn: 10 * requests, bytesOut: 0, active: 1,
      latency: { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0 }, buckets: [], sumUs: 0,
    });
    // 30 rounds from both workers: 20 of 100 requests per worker, then 10 of 10.
    for (let r = 0; r < 30; r++) {
      const n = r < 20 ? 100 : 10;
      for (const worker of [0, 1]) {
        for (const balancer of ["front", "static"]) {
          const ep = { ...round(n, 1), ejections: 0, ejectedForMs: 0 };
          s.link.handle({ t: "balancer.stats", worker, balancer, listener: round(n, 1) as never, endpoints: balancer === "static" ? { "127.0.0.1:9001": ep as never } : {}, panic: false, held: 0 });
        }
      }
    }
    const v = s.link.view("static")!;
    expect(v.stats.totals.requests).toBe(2 * (20 * 100 + 10 * 10));
    expect(v.stats.totals.responses["5xx"]).toBe(60);
    expect(v.stats.rateWindowSeconds).toBe(10);
    expect(v.stats.ratesPerSecond.requests).toBe(20);
    expect(v.stats.ratesPerSecond.bytesIn).toBe(200);
    const ep = v.endpoints.find((e) => e.id === "127.0.0.1:9001")!;
    expect(ep.stats.totals.requests).toBe(2 * (20 * 100 + 10 * 10));
    expect(ep.stats.ratesPerSecond.requests).toBe(20);
    expect(Date.parse(ep.stats.totalsSince)).toBeGreaterThan(0);
    s.link.stop();
  });

  test("a listener that cannot bind makes the balancer not listening, with address and errno, until that worker binds it", () => {
    const s = setup();
    const fail = (worker: number, attempt: number) =>
      s.link.handle({ t: "balancer.listen-failed", worker, balancer: "front", address: "127.0.0.1:8080", code: "EADDRINUSE", message: "Failed to listen at 127.0.0.1", attempt, retryInMs: 500 });
    fail(0, 1);
    fail(0, 2);
    fail(1, 1);
    expect(s.link.notListening()).toEqual(["balancer front: cannot listen on 127.0.0.1:8080: EADDRINUSE (Failed to listen at 127.0.0.1)"]);
    expect(s.link.view("front")).toMatchObject({ listening: false, problem: "cannot listen on 127.0.0.1:8080: EADDRINUSE (Failed to listen at 127.0.0.1)" });
    expect(s.link.view("static")!.listening).toBe(true);
    // One event per worker that starts failing, none per retry.
    expect(s.events.filter((e) => e.type === "balancer.listen-failed").length).toBe(2);
    s.link.handle({ t: "balancer.listening", worker: 0, balancer: "front", address: "127.0.0.1:8080" });
    expect(s.link.notListening().length).toBe(1);
    s.link.handle({ t: "balancer.listening", worker: 1, balancer: "front", address: "127.0.0.1:8080" });
    expect(s.link.notListening()).toEqual([]);
    expect(s.link.view("front")!.listening).toBe(true);
    expect(s.events.filter((e) => e.type === "balancer.listening").length).toBe(2);
  });

  test("a drain marks the endpoint draining in a pool sent before the drain request, then sums what each worker still has", async () => {
    const s = setup();
    s.catalog.upsertEndpoint("default", "web", { id: "web-0", address: "127.0.0.1", port: 20000, protocol: "http", weight: 1, metadata: {} });
    await Promise.resolve();
    s.inFlight[1] = 2;
    await s.link.drainCatalogEndpoint("default", "web", "web-0");
    for (const w of [0, 1]) {
      const order = s.sent[w]!.map((m) => m.t);
      const drainAt = order.lastIndexOf("balancer.drain");
      const poolsBefore = s.sent[w]!.slice(0, drainAt).filter((m): m is ToBalancer & { t: "balancer.pool" } => m.t === "balancer.pool" && m.balancer === "front");
      expect(poolsBefore.at(-1)!.members.map((m) => [m.id, m.draining])).toEqual([["web-0", true]]);
      expect(s.sent[w]![drainAt]).toEqual({ t: "balancer.drain", balancer: "front", endpoint: "web-0" });
    }
    s.inFlight[0] = 1;
    expect(await s.link.drain("static", "127.0.0.1:9001")).toEqual({ inFlight: 3 });
  });
});
