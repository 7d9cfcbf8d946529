import { describe, expect, test } from "bun:test";
import { type ReplicaObservation, type RolloutOptions, type RolloutState, LATENCY_FLOOR_MS, Reason, analyse, decide, startRollout } from "../../../../src/core/deploy/rollout.ts";

const OPTS: RolloutOptions = { maxSurge: 1, maxUnavailable: 0, minHealthyMs: 5_000, healthyDeadlineMs: 60_000, progressDeadlineMs: 300_000, autoRevert: true, analysis: null };
const start = (o: Partial<RolloutOptions> = {}, now = 0) => startRollout({ id: "web-1", app: "web", kind: "deploy", from: 1, to: 2, options: { ...OPTS, ...o }, by: "test" }, now).state;
const rep = (id: number, revision: number, extra: Partial<ReplicaObservation> = {}): ReplicaObservation => ({ id, revision, phase: "ready", lastExitAt: null, startedAt: 0, passingSince: 0, ...extra });
const observe = (s: RolloutState, replicas: ReplicaObservation[], now: number, desired = 3, launching = 0) => decide(s, { type: "observe", replicas, desired, launching }, now);
const kinds = (d: ReturnType<typeof decide>) => d.actions.filter((a) => a.kind !== "announce");

describe("rolling rollout", () => {
  test("starting sets the target revision and announces the rollout", () => {
    const d = startRollout({ id: "web-1", app: "web", kind: "deploy", from: 1, to: 2, options: OPTS, by: "file" }, 100);
    expect(d.state).toMatchObject({ target: 2, phase: "forward", outcome: null, startedAt: 100 });
    expect(d.actions).toContainEqual({ kind: "set-target", revision: 2 });
    expect(d.actions.some((a) => a.kind === "announce" && a.type === "deploy.started")).toBe(true);
  });

  test("with max_surge 1 it starts one new replica and retires no old one before the new one is available", () => {
    const s = start();
    const old = [rep(0, 1), rep(1, 1), rep(2, 1)];
    expect(kinds(observe(s, old, 1000))).toEqual([{ kind: "launch", revision: 2, count: 1 }]);
    // The launch is in flight: nothing more.
    expect(kinds(observe(s, old, 1000, 3, 1))).toEqual([]);
    // Ready and passing, but not for min_healthy_time yet.
    const fresh = rep(3, 2, { startedAt: 1000, passingSince: 2000 });
    expect(kinds(observe(s, [...old, fresh], 6000))).toEqual([]);
    // Available: one old replica goes (the lowest id), and no new one starts while four run.
    expect(kinds(observe(s, [...old, fresh], 7000))).toEqual([{ kind: "retire", id: 0 }]);
  });

  test("a stopping replica still counts towards desired + max_surge", () => {
    const s = start();
    const d = observe(s, [rep(0, 1, { phase: "stopping" }), rep(1, 1), rep(2, 1), rep(3, 2, { startedAt: 1000, passingSince: 1000 })], 7000);
    expect(kinds(d)).toEqual([]);
  });

  test("max_unavailable lets old replicas go first when no surge is allowed", () => {
    const s = start({ maxSurge: 0, maxUnavailable: 1 });
    expect(kinds(observe(s, [rep(0, 1), rep(1, 1), rep(2, 1)], 1000))).toEqual([{ kind: "retire", id: 0 }]);
    expect(kinds(observe(s, [rep(1, 1), rep(2, 1)], 2000))).toEqual([{ kind: "launch", revision: 2, count: 1 }]);
  });

  test("it succeeds once only available replicas of the new revision are left", () => {
    const s = start();
    const news = [rep(3, 2, { startedAt: 1, passingSince: 1 }), rep(4, 2, { startedAt: 1, passingSince: 1 }), rep(5, 2, { startedAt: 1, passingSince: 1 })];
    const d = observe(s, news, 10_000);
    expect(d.state.outcome).toBe("succeeded");
    expect(d.reason).toBe(Reason.COMPLETE);
    expect(d.actions.some((a) => a.kind === "announce" && a.type === "deploy.succeeded")).toBe(true);
    // An ended rollout decides nothing more.
    expect(observe(d.state, news, 11_000).actions).toEqual([]);
  });

  test("an exit of a new replica reverts: target back to the old revision, the failed replica retired", () => {
    const s = start({}, 0);
    const d = observe(s, [rep(0, 1), rep(1, 1), rep(2, 1), rep(3, 2, { startedAt: 100, phase: "starting", passingSince: null, lastExitAt: 200 })], 300);
    expect(d.reason).toBe(Reason.REPLICA_FAILED);
    expect(d.state).toMatchObject({ phase: "revert", target: 1 });
    expect(d.actions).toContainEqual({ kind: "set-target", revision: 1 });
    // The revert retires the new revision's replica at once: it serves nothing.
    const r = observe(d.state, [rep(0, 1), rep(1, 1), rep(2, 1), rep(3, 2, { phase: "down", passingSince: null })], 400);
    expect(kinds(r)).toEqual([{ kind: "retire", id: 3 }]);
    // The old replicas ran before the revert: they count at once while they serve.
    const done = observe(r.state, [rep(0, 1), rep(1, 1), rep(2, 1)], 500);
    expect(done.state.outcome).toBe("reverted");
  });

  test("an exit of an old replica before the revert began is not held against the revert", () => {
    const s = start({}, 0);
    const d = observe(s, [rep(0, 1, { lastExitAt: 50 }), rep(1, 1), rep(2, 1), rep(3, 2, { phase: "down", passingSince: null, lastExitAt: 200 })], 300);
    const r = observe(d.state, [rep(0, 1, { lastExitAt: 50 }), rep(1, 1), rep(2, 1)], 400);
    expect(r.state.outcome).toBe("reverted");
  });

  test("a new replica that is not ready and passing by healthy_deadline reverts", () => {
    const s = start({ healthyDeadlineMs: 10_000 });
    const failing = rep(3, 2, { startedAt: 1000, passingSince: null });
    expect(observe(s, [rep(0, 1), rep(1, 1), rep(2, 1), failing], 11_000).state.phase).toBe("forward");
    const d = observe(s, [rep(0, 1), rep(1, 1), rep(2, 1), failing], 11_001);
    expect(d.reason).toBe(Reason.HEALTHY_DEADLINE);
    expect(d.state.phase).toBe("revert");
  });

  test("no progress by progress_deadline fails the rollout", () => {
    const s = start({ progressDeadlineMs: 20_000, healthyDeadlineMs: 1e9 });
    const stuck = [rep(0, 1), rep(1, 1), rep(2, 1), rep(3, 2, { startedAt: 0, passingSince: null })];
    const first = observe(s, stuck, 1000);
    expect(observe(first.state, stuck, 21_001).reason).toBe(Reason.PROGRESS_DEADLINE);
  });

  test("without auto_revert a failure pauses the rollout with the reason, and resume retries", () => {
    const s = start({ autoRevert: false });
    const d = observe(s, [rep(0, 1), rep(1, 1), rep(2, 1), rep(3, 2, { phase: "down", passingSince: null, lastExitAt: 10 })], 100);
    expect(d.state).toMatchObject({ paused: true, phase: "forward", target: 2 });
    expect(d.state.failure).toContain("replica 3");
    expect(kinds(observe(d.state, [rep(0, 1)], 200))).toEqual([]);
    const resumed = decide(d.state, { type: "resume" }, 300);
    expect(resumed.state).toMatchObject({ paused: false, failure: null, phaseAt: 300 });
  });

  test("pause stops every action; abort reverts", () => {
    const s = start();
    const paused = decide(s, { type: "pause" }, 10).state;
    expect(observe(paused, [rep(0, 1), rep(1, 1), rep(2, 1)], 20).actions).toEqual([]);
    const aborted = decide(paused, { type: "abort", by: "ops" }, 30);
    expect(aborted.state).toMatchObject({ phase: "revert", target: 1, paused: false, failure: "aborted by ops" });
  });

  test("a superseded rollout ends once and decides nothing after", () => {
    const d = decide(start(), { type: "supersede", by: 3 }, 10);
    expect(d.state.outcome).toBe("superseded");
    expect(decide(d.state, { type: "abort", by: "x" }, 20).actions).toEqual([]);
  });

  test("scaled down during a rollout: extra new replicas that are not available go first", () => {
    const s = start();
    const d = observe(s, [rep(3, 2, { startedAt: 0, passingSince: 0 }), rep(4, 2, { startedAt: 9000, passingSince: null })], 10_000, 1);
    expect(kinds(d)).toEqual([{ kind: "retire", id: 4 }]);
  });

  test("analysis: a new revision that fails more or answers slower than the old one reverts; too few requests are not judged", () => {
    const a = { maxErrorRatio: 0.05, maxLatencyRatio: 3, minRequests: 50 };
    const old = { requests: 1000, failures: 10, p95Ms: 4, p99Ms: 4 };
    const cases: Array<[string, { requests: number; failures: number; p95Ms: number; p99Ms: number }, string | null]> = [
      ["as good as the old", { requests: 200, failures: 2, p95Ms: 5, p99Ms: 5 }, null],
      ["too few requests", { requests: 49, failures: 49, p95Ms: 500, p99Ms: 500 }, null],
      ["errors 6 points above", { requests: 100, failures: 7, p95Ms: 4, p99Ms: 4 }, Reason.ANALYSIS_ERRORS],
      ["errors 5 points above", { requests: 100, failures: 6, p95Ms: 4, p99Ms: 4 }, null],
      ["3x slower is allowed", { requests: 100, failures: 0, p95Ms: 12, p99Ms: 12 }, null],
      ["10x slower", { requests: 100, failures: 0, p95Ms: 40, p99Ms: 40 }, Reason.ANALYSIS_LATENCY],
    ];
    for (const [what, t, reason] of cases) expect([what, analyse(a, t, old)?.reason ?? null]).toEqual([what, reason]);
    // A tail the p95 hides: 1 request in 50 stalls. p99 is compared with max_p99_ratio (absent: max_latency_ratio).
    const tail = { requests: 500, failures: 0, p95Ms: 5, p99Ms: 200 };
    expect(analyse(a, tail, old)).toMatchObject({ reason: Reason.ANALYSIS_LATENCY, what: expect.stringContaining("p99 latency 200.0 ms against 4.0 ms for the old revision (max_p99_ratio 3)") });
    expect(analyse({ ...a, maxP99Ratio: 60 }, tail, old)).toBeNull();
    expect(analyse({ ...a, maxP99Ratio: 40 }, tail, old)?.what).toContain("max_p99_ratio 40");
    // Slower throughout fails on p95 first.
    expect(analyse(a, { requests: 100, failures: 0, p95Ms: 40, p99Ms: 400 }, old)?.what).toContain("p95 latency");
    // Under the floor a ratio is noise: 0.1 ms against 0.02 ms is not 5x slower.
    expect(analyse(a, { requests: 100, failures: 0, p95Ms: LATENCY_FLOOR_MS * 2.9, p99Ms: LATENCY_FLOOR_MS * 2.9 }, { requests: 100, failures: 0, p95Ms: 0.02, p99Ms: 0.02 })).toBeNull();

    const s = start({ analysis: a });
    const reps = [rep(0, 1), rep(1, 1), rep(2, 1), rep(3, 2, { startedAt: 1000, passingSince: 1000 })];
    const d = decide(s, { type: "observe", replicas: reps, desired: 3, launching: 0, traffic: { target: { requests: 100, failures: 0, p95Ms: 40, p99Ms: 40 }, others: old } }, 2000);
    expect(d.state).toMatchObject({ phase: "revert", target: 1 });
    expect(d.state.failure).toContain("p95 latency 40.0 ms");
  });
});
