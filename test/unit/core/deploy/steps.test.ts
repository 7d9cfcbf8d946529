import { describe, expect, test } from "bun:test";
import { type ReplicaObservation, type RolloutOptions, type RolloutState, Reason, decide, startRollout, stepReplicaCount } from "../../../../src/core/deploy/rollout.ts";

const BASE: RolloutOptions = { maxSurge: 1, maxUnavailable: 0, minHealthyMs: 1_000, healthyDeadlineMs: 60_000, progressDeadlineMs: 300_000, autoRevert: true, analysis: null };
const CANARY: RolloutOptions = { ...BASE, strategy: "canary", stepReplicas: 1, steps: [{ weight: 10, pauseMs: 5_000 }, { weight: 50, pauseMs: null }] };
const BLUE_GREEN: RolloutOptions = { ...BASE, strategy: "blue_green", stepReplicas: "all", steps: [{ weight: 100, pauseMs: 60_000 }] };
const start = (o: RolloutOptions) => startRollout({ id: "web-1", app: "web", kind: "deploy", from: 1, to: 2, options: o, by: "test" }, 0).state;
const rep = (id: number, revision: number, extra: Partial<ReplicaObservation> = {}): ReplicaObservation => ({ id, revision, phase: "ready", lastExitAt: null, startedAt: 0, passingSince: 0, ...extra });
const observe = (s: RolloutState, replicas: ReplicaObservation[], now: number, desired = 3, traffic?: { target: { requests: number; failures: number; p95Ms: number; p99Ms: number }; others: { requests: number; failures: number; p95Ms: number; p99Ms: number } }) =>
  decide(s, { type: "observe", replicas, desired, launching: 0, ...(traffic ? { traffic } : {}) }, now);
const kinds = (d: ReturnType<typeof decide>) => d.actions.filter((a) => a.kind !== "announce");
const OLD = [rep(0, 1), rep(1, 1), rep(2, 1)];

describe("canary", () => {
  test("starts its canary beside the old replicas with no traffic, then applies the first step's weight", () => {
    const s = start(CANARY);
    expect(s.split).toEqual({ revision: 2, percent: 0 });
    expect(kinds(observe(s, OLD, 100))).toEqual([{ kind: "launch", revision: 2, count: 1 }]);
    const canary = rep(3, 2, { startedAt: 100, passingSince: 200 });
    // Not available yet (min_healthy_time): still no share.
    expect(observe(s, [...OLD, canary], 500).state.split).toEqual({ revision: 2, percent: 0 });
    const d = observe(s, [...OLD, canary], 1_300);
    expect(d.state).toMatchObject({ step: 0, stepAt: 1_300, split: { revision: 2, percent: 10 } });
    expect(d.actions.some((a) => a.kind === "announce" && a.type === "deploy.step")).toBe(true);
    // No old replica is retired during the steps.
    expect(kinds(d)).toEqual([]);
  });

  test("a percent of canaries follows the desired count: 25% of 8 is 2, of 3 is 1 (rounded up, at least 1)", () => {
    const s = start({ ...CANARY, stepReplicas: { percent: 25 } });
    const eight = Array.from({ length: 8 }, (_, i) => rep(i, 1));
    expect(kinds(observe(s, eight, 100, 8))).toEqual([{ kind: "launch", revision: 2, count: 2 }]);
    expect(kinds(observe(s, OLD, 100, 3))).toEqual([{ kind: "launch", revision: 2, count: 1 }]);
    expect([stepReplicaCount({ percent: 1 }, 3), stepReplicaCount({ percent: 100 }, 3), stepReplicaCount(5, 3), stepReplicaCount("all", 4)]).toEqual([1, 3, 3, 4]);
  });

  test("holds each step for its pause, waits for promote on a step without one, then replaces the rest", () => {
    let s = observe(start(CANARY), [...OLD, rep(3, 2, { startedAt: 100, passingSince: 100 })], 1_200).state;
    const all = [...OLD, rep(3, 2, { startedAt: 100, passingSince: 100 })];
    expect(observe(s, all, 6_000).state.step).toBe(0);
    s = observe(s, all, 6_300).state;
    expect(s).toMatchObject({ step: 1, split: { revision: 2, percent: 50 } });
    // No pause: it waits for the operator, however long (no progress deadline either).
    const waiting = observe(s, all, 900_000);
    expect(waiting.state).toMatchObject({ step: 1, outcome: null, reason: Reason.AWAITING_PROMOTE });
    const promoted = decide(waiting.state, { type: "promote", by: "ops" }, 900_100);
    // The last step was under 100%: traffic follows the replicas again while the rest is replaced.
    expect(promoted.state).toMatchObject({ step: null, split: null, reason: Reason.PROMOTED });
    // Now it rolls as rolling does: the canary is the surge replica, so an old one goes first.
    expect(kinds(observe(promoted.state, all, 900_200))).toEqual([{ kind: "retire", id: 0 }]);
  });

  test("the analysis gate fails a bad canary and the revert gives the old revision all the traffic at once", () => {
    const o: RolloutOptions = { ...CANARY, analysis: { maxErrorRatio: 0.05, maxLatencyRatio: 3, minRequests: 50 } };
    const canary = rep(3, 2, { startedAt: 100, passingSince: 100 });
    const s = observe(start(o), [...OLD, canary], 1_200).state;
    const d = observe(s, [...OLD, canary], 2_000, 3, { target: { requests: 100, failures: 40, p95Ms: 5, p99Ms: 5 }, others: { requests: 900, failures: 0, p95Ms: 5, p99Ms: 5 } });
    expect(d.reason).toBe(Reason.ANALYSIS_ERRORS);
    expect(d.state).toMatchObject({ phase: "revert", target: 1, split: { revision: 1, percent: 100 }, step: null });
    // The canary goes at once (the old set is whole and available).
    expect(kinds(observe(d.state, [...OLD, canary], 2_100))).toEqual([{ kind: "retire", id: 3 }]);
  });

  test("with analysis on, a step does not pass without enough requests to judge", () => {
    const o: RolloutOptions = { ...CANARY, analysis: { maxErrorRatio: 0.05, maxLatencyRatio: 3, minRequests: 50 } };
    const all = [...OLD, rep(3, 2, { startedAt: 100, passingSince: 100 })];
    const s = observe(start(o), all, 1_200).state;
    const quiet = { target: { requests: 3, failures: 0, p95Ms: 5, p99Ms: 5 }, others: { requests: 30, failures: 0, p95Ms: 5, p99Ms: 5 } };
    expect(observe(s, all, 10_000, 3, quiet).state.step).toBe(0);
    const busy = { target: { requests: 80, failures: 0, p95Ms: 5, p99Ms: 5 }, others: { requests: 800, failures: 0, p95Ms: 5, p99Ms: 5 } };
    expect(observe(s, all, 10_000, 3, busy).state.step).toBe(1);
  });

  test("promote is refused for rolling and ignored when paused", () => {
    const rolling = startRollout({ id: "web-1", app: "web", kind: "deploy", from: 1, to: 2, options: BASE, by: "t" }, 0).state;
    expect(decide(rolling, { type: "promote", by: "ops" }, 10).reason).toBe(Reason.UNCHANGED);
    const paused = decide(start(CANARY), { type: "pause" }, 10).state;
    expect(decide(paused, { type: "promote", by: "ops" }, 20).reason).toBe(Reason.UNCHANGED);
  });
});

describe("blue_green", () => {
  const green = [rep(3, 2, { startedAt: 100, passingSince: 100 }), rep(4, 2, { startedAt: 100, passingSince: 100 }), rep(5, 2, { startedAt: 100, passingSince: 100 })];

  test("brings up a full set with no traffic, switches all of it at once, keeps the old set for the window", () => {
    const s = start(BLUE_GREEN);
    expect(kinds(observe(s, OLD, 50))).toEqual([{ kind: "launch", revision: 2, count: 3 }]);
    expect(observe(s, [...OLD, ...green.slice(0, 2)], 1_200).state.split).toEqual({ revision: 2, percent: 0 });
    const switched = observe(s, [...OLD, ...green], 1_200);
    expect(switched.state.split).toEqual({ revision: 2, percent: 100 });
    expect(kinds(switched)).toEqual([]);
    // Inside the window the old set stays.
    expect(kinds(observe(switched.state, [...OLD, ...green], 30_000))).toEqual([]);
    // After it the old set goes, and stays out of traffic while it does.
    const after = observe(switched.state, [...OLD, ...green], 61_300);
    expect(after.state).toMatchObject({ step: null, split: { revision: 2, percent: 100 } });
    expect(kinds(observe(after.state, [...OLD, ...green], 61_400))).toEqual([{ kind: "retire", id: 0 }, { kind: "retire", id: 1 }, { kind: "retire", id: 2 }]);
    const done = observe(after.state, green, 62_000);
    expect(done.state).toMatchObject({ outcome: "succeeded", split: null });
  });

  test("abort inside the window switches back at once to the old set", () => {
    const switched = observe(start(BLUE_GREEN), [...OLD, ...green], 1_200).state;
    const back = decide(switched, { type: "abort", by: "ops" }, 5_000);
    expect(back.state).toMatchObject({ phase: "revert", split: { revision: 1, percent: 100 } });
    expect(kinds(observe(back.state, [...OLD, ...green], 5_100))).toEqual([{ kind: "retire", id: 3 }, { kind: "retire", id: 4 }, { kind: "retire", id: 5 }]);
  });
});
