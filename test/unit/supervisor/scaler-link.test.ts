import { describe, expect, test } from "bun:test";
import type { Decision, ToScaler } from "../../../src/protocol/scaler.ts";
import { createScalerLink } from "../../../src/supervisor/scaler-link.ts";
import type { ReplicaView } from "../../../src/supervisor/procs-link.ts";
import { createIntentStore } from "../../../src/state/intent.ts";
import { configOf, memoryStore, recordingEvents, recordingTelemetry } from "./link-fakes.ts";

const RAW = {
  apps: [
    { name: "web", command: "true", replicas: { min: 1, max: 4 }, port: { range: [20000, 20009] }, scaling: { metrics: [{ name: "cpu", target: 50 }] } },
    { name: "fixed", command: "true", replicas: 1, port: { range: [20010, 20019] } },
  ],
};

function setup() {
  const config = configOf(RAW);
  const desired = new Map<string, number>();
  const ready: ReplicaView[] = [{ app: "web", id: 0, port: 20000, ready: true }];
  const sent: ToScaler[] = [];
  const scaled: Array<[string, number]> = [];
  const { events, publish } = recordingEvents();
  const { telemetry } = recordingTelemetry();
  const store = memoryStore();
  const procs = {
    desiredOf: (app: string) => desired.get(app),
    setDesired: (app: string, n: number) => void desired.set(app, n),
    readyReplicas: (app?: string) => ready.filter((r) => app === undefined || r.app === app),
    onStats: () => () => true,
    intents: createIntentStore(store),
  };
  const link = createScalerLink(
    { config: () => config, cores: 2, publish, log: { error: () => {} }, store, telemetry, send: (m) => void sent.push(m), scale: async (app, n) => void scaled.push([app, n]) },
    procs,
  );
  return { link, sent, scaled, events, store, desired, procs };
}

const decision = (over: Partial<Decision>): Decision =>
  ({ app: "web", at: 1000, inputs: { currentReplicas: 1, min: 1, max: 4, metrics: [], windowSize: 0 }, perMetric: [], forecast: null, reactive: 3, recommendation: 3, rule: "metric:cpu", current: 1, desired: 3, action: "scale-up", reason: "cpu 150% of 50%", dryRun: false, notes: [], ...over }) as Decision;

describe("scaler link", () => {
  test("policies come from apps with a scaling section only", () => {
    const s = setup();
    expect(s.link.state().policies.map((p) => p.app)).toEqual(["web"]);
  });

  test("a decision that acts sets the desired count, asks procs to scale, and is recorded with its reason", () => {
    const s = setup();
    s.link.handle({ t: "scaler.decision", decision: decision({}) });
    expect(s.desired.get("web")).toBe(3);
    expect(s.scaled).toEqual([["web", 3]]);
    expect(s.link.history("web", 10).map((r) => [r.current, r.desired, r.reason])).toEqual([[1, 3, "cpu 150% of 50%"]]);
    expect(s.events[0]).toMatchObject({ type: "scale.decision", target: "web" });
    // Replicas asked for but not ready yet count as starting.
    const replicas = s.sent.filter((m) => m.t === "scaler.replicas").at(-1);
    expect(replicas && replicas.t === "scaler.replicas" ? replicas.replicas.map((r) => r.phase) : []).toEqual(["ready", "starting", "starting"]);
  });

  test("a dry-run decision is recorded but not acted on (contrast)", () => {
    const s = setup();
    s.link.handle({ t: "scaler.decision", decision: decision({ dryRun: true }) });
    expect(s.scaled).toEqual([]);
    expect(s.desired.has("web")).toBe(false);
    expect(s.link.history("web", 10).length).toBe(1);
  });

  test("an API override replaces the config policy, is persisted, and is pushed to the worker", () => {
    const s = setup();
    const policy = s.link.policyOf("web")!;
    s.link.setOverride("fixed", policy);
    expect(s.link.policies().map((p) => p.app)).toEqual(["web", "fixed"]);
    expect(Object.keys(s.store.getKv<Record<string, unknown>>("scaling.overrides")!)).toEqual(["fixed"]);
    expect(s.sent.some((m) => m.t === "scaler.policies" && m.policies.length === 2)).toBe(true);
  });

  test("a decision while the operator paused autoscaling is recorded with the reason it was held, and not applied", () => {
    const s = setup();
    s.procs.intents.update("web", () => ({ replicas: 2, setBy: "operator", pausedUntil: Date.now() + 60_000 }));
    s.link.handle({ t: "scaler.decision", decision: decision({}) });
    expect(s.scaled).toEqual([]);
    expect(s.desired.get("web")).toBeUndefined();
    const ev = s.events.find((e) => e.type === "scale.decision")!;
    expect(ev.message).toContain("not applied: autoscaling is paused until");
  });

  test("a decision for a stopped app is not applied", () => {
    const s = setup();
    s.procs.intents.update("web", () => ({ stopped: { at: 1, previous: 2 } }));
    s.link.handle({ t: "scaler.decision", decision: decision({}) });
    expect(s.scaled).toEqual([]);
  });

  test("once the pause window is over the next decision is applied and the end of the pause is announced", () => {
    const s = setup();
    s.procs.intents.update("web", () => ({ replicas: 2, setBy: "operator", pausedUntil: Date.now() - 1 }));
    s.link.handle({ t: "scaler.decision", decision: decision({}) });
    expect(s.scaled).toEqual([["web", 3]]);
    expect(s.events.map((e) => e.type)).toContain("scaling.resumed");
    expect(s.procs.intents.get("web").pausedUntil).toBeUndefined();
  });
});
