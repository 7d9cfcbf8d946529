import { describe, expect, test } from "bun:test";
import { decodeConfig } from "../../../src/config/decode.ts";
import type { Config } from "../../../src/config/schema.ts";
import { fenceDeadline, fenceMarginMs } from "../../../src/core/placement/fence.ts";
import { createPlacementLink } from "../../../src/supervisor/placement-link.ts";
import { waitFor } from "../../support/wait-for.ts";

const decoded = decodeConfig(
  {
    cluster: { etcd: { endpoints: ["http://127.0.0.1:2379"] }, node: { name: "n1", advertise: "127.0.0.11" }, lease_ttl: "2s" },
    apps: [
      { name: "web", command: "sleep", args: ["60"], placement: { scope: "cluster", replicas: 4 } },
      { name: "local", command: "sleep", args: ["60"], replicas: 2 },
    ],
  },
  "test.yaml",
);
if (!decoded.ok) throw new Error(JSON.stringify(decoded.error.problems));
const config: Config = decoded.config;

function link(saved?: unknown) {
  const kv = new Map<string, unknown>(saved ? [["cluster.slots", saved]] : []);
  const events: string[] = [];
  let applied = 0;
  const l = createPlacementLink({
    config: () => config,
    ttlSeconds: 2,
    node: "n1",
    store: { getKv: <T>(k: string) => kv.get(k) as T | undefined, putKv: (k, v) => void kv.set(k, v) },
    publish: (e) => void events.push(e.type),
    send: () => {},
    applyProcs: () => void applied++,
  });
  return { l, kv, events, applied: () => applied };
}

describe("fencing bound", () => {
  test.each([
    [2, 1000],
    [3, 1000],
    [10, 2500],
    [60, 15_000],
  ])("a %ds lease is stopped %d ms before it can expire", (ttl, margin) => {
    expect(fenceMarginMs(ttl)).toBe(margin);
    expect(fenceDeadline(1000, ttl)).toBe(1000 + ttl * 1000 - margin);
  });
});

describe("placement link", () => {
  test("a cluster app runs its slots here; an app that is not one is left to the config", () => {
    const { l, applied, kv } = link();
    expect(l.slotsOf("web")).toBe(0);
    l.handle({ t: "cluster.slots", slots: { web: [0, 3] }, renewedAt: Date.now() });
    expect(l.slotsOf("web")).toBe(2);
    expect(l.slotsOf("local")).toBeUndefined();
    expect(applied()).toBe(1);
    // Persisted before procs acts on it.
    expect(kv.get("cluster.slots")).toMatchObject({ slots: { web: [0, 3] } });
    l.stop();
  });

  test("a renewal with the same slots does not touch procs", () => {
    const { l, applied } = link();
    l.handle({ t: "cluster.slots", slots: { web: [0] }, renewedAt: Date.now() });
    l.handle({ t: "cluster.slots", slots: { web: [0] }, renewedAt: Date.now() });
    expect(applied()).toBe(1);
    l.stop();
  });

  test("no renewal by last renewal + TTL - margin: the cluster apps go to 0 (fenced) until one comes", async () => {
    const { l, events } = link();
    // The deadline falls a few ms from now.
    l.handle({ t: "cluster.slots", slots: { web: [1, 2] }, renewedAt: Date.now() - 2000 + fenceMarginMs(2) + 30 });
    expect(l.slotsOf("web")).toBe(2);
    await waitFor(() => l.fenced(), { timeoutMs: 5000, what: "fenced" });
    expect(l.slotsOf("web")).toBe(0);
    expect(events).toContain("cluster.fenced");
    l.handle({ t: "cluster.slots", slots: { web: [1, 2] }, renewedAt: Date.now() });
    expect(l.fenced()).toBe(false);
    expect(l.slotsOf("web")).toBe(2);
    expect(events).toContain("cluster.unfenced");
    l.stop();
  });

  test("at start, persisted slots are used only while their renewal is within the fencing deadline", () => {
    const fresh = link({ slots: { web: [0, 1, 2] }, renewedAt: Date.now() });
    expect(fresh.l.slotsOf("web")).toBe(3);
    fresh.l.stop();
    const stale = link({ slots: { web: [0, 1, 2] }, renewedAt: Date.now() - 60_000 });
    expect(stale.l.slotsOf("web")).toBe(0);
    expect(stale.l.fenced()).toBe(true);
    stale.l.stop();
  });
});
