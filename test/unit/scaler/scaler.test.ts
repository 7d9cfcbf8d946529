// The stateful scaler: ingest, per-tick evaluation of every app, skipped samples, dry run, forecast and replay.
import { describe, expect, test } from "bun:test";
import { type ScalePolicy, validatePolicy } from "../../../src/core/scaling/policy.ts";
import { createScaler, type MetricSample, type ReplicaInfo } from "../../../src/scaler/scaler.ts";
import { type SimulationPoint, simulate } from "../../../src/scaler/simulate.ts";
import { createFakeClock } from "../../support/fake-clock.ts";

function policy(raw: Record<string, unknown>): ScalePolicy {
  const v = validatePolicy({ min: 1, max: 10, ...raw });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.policy;
}

const replicas = (n: number): ReplicaInfo[] => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, phase: "ready", cpuRequest: 1000 }));

function cpuSamples(app: string, n: number, value: number, fromS: number, toS: number): MetricSample[] {
  const out: MetricSample[] = [];
  for (let s = fromS; s < toS; s++) for (let i = 0; i < n; i++) out.push({ app, replica: `r${i}`, metric: "cpu", value, at: s * 1000 });
  return out;
}

describe("evaluate", () => {
  test("every app with a policy and replicas gets a decision per tick", () => {
    const clock = createFakeClock(20_000);
    const scaler = createScaler({ clock });
    for (const app of ["a", "b"]) {
      scaler.setPolicy(app, policy({ metrics: [{ name: "cpu", target: 50 }] }));
      scaler.setReplicas(app, 2, replicas(2));
    }
    scaler.ingest([...cpuSamples("a", 2, 1000, 5, 20), ...cpuSamples("b", 2, 500, 5, 20)]);
    scaler.setPolicy("no-replicas-yet", policy({ metrics: [{ name: "cpu", target: 50 }] }));
    const decisions = scaler.evaluate();
    expect(decisions.map((d) => [d.app, d.desired, d.action])).toEqual([
      ["a", 4, "scale-up"],
      ["b", 2, "none"],
    ]);
  });

  test("readings are averaged over the metric window, older samples do not count", () => {
    const scaler = createScaler({ clock: createFakeClock() });
    scaler.setPolicy("a", policy({ metrics: [{ name: "cpu", target: 50 }], metricWindowSeconds: 10 }));
    scaler.setReplicas("a", 2, replicas(2));
    scaler.ingest([...cpuSamples("a", 2, 2000, 0, 30), ...cpuSamples("a", 2, 500, 30, 40)]);
    const [d] = scaler.evaluate(39_500);
    expect(d).toMatchObject({ desired: 2, rule: "tolerance" });
  });

  test("NaN, negative and unknown samples are skipped and named in the next decision", () => {
    const scaler = createScaler({ clock: createFakeClock(10_000) });
    scaler.setPolicy("a", policy({ metrics: [{ name: "cpu", target: 50 }] }));
    scaler.setReplicas("a", 1, replicas(1));
    const report = scaler.ingest([
      { app: "a", replica: "r0", metric: "cpu", value: 500, at: 9_000 },
      { app: "a", replica: "r0", metric: "cpu", value: Number.NaN, at: 9_500 },
      { app: "a", replica: "r0", metric: "cpu", value: -1, at: 9_500 },
      { app: "a", replica: "r0", metric: "gpu", value: 1, at: 9_500 },
    ]);
    expect(report).toEqual({ accepted: 1, skipped: 3 });
    const [d] = scaler.evaluate();
    expect(d.notes).toEqual(["1 sample(s) skipped: cpu NaN", "1 sample(s) skipped: cpu negative", "1 sample(s) skipped: unknown metric gpu"]);
    expect(scaler.evaluate()[0].notes).toEqual([]);
  });

  test("a decision moves the current count so the next tick does not repeat it", () => {
    const scaler = createScaler({ clock: createFakeClock(20_000) });
    scaler.setPolicy("a", policy({ metrics: [{ name: "cpu", target: 50 }] }));
    scaler.setReplicas("a", 2, replicas(2));
    scaler.ingest(cpuSamples("a", 2, 1000, 5, 20));
    expect(scaler.evaluate()[0].current).toBe(2);
    expect(scaler.evaluate()[0].current).toBe(4);
  });

  test("the contrast: in dry run the current count stays", () => {
    const scaler = createScaler({ clock: createFakeClock(20_000) });
    scaler.setPolicy("a", policy({ metrics: [{ name: "cpu", target: 50 }], dryRun: true }));
    scaler.setReplicas("a", 2, replicas(2));
    scaler.ingest(cpuSamples("a", 2, 1000, 5, 20));
    scaler.evaluate();
    expect(scaler.evaluate()[0]).toMatchObject({ current: 2, desired: 4, dryRun: true });
  });

  test("demand wakes an app at zero; a removed app gets no decision", () => {
    const scaler = createScaler({ clock: createFakeClock(5_000) });
    scaler.setPolicy("a", policy({ min: 0, metrics: [{ name: "rps_per_replica", target: 10 }] }));
    scaler.setReplicas("a", 0, []);
    scaler.ingest([{ app: "a", metric: "rps_per_replica", value: 2, at: 4_000 }]);
    expect(scaler.evaluate()[0]).toMatchObject({ desired: 1, rule: "wake-from-zero" });
    scaler.removeApp("a");
    expect(scaler.evaluate()).toEqual([]);
  });
});

describe("forecast and simulate", () => {
  const STEP = 60;
  const SEASON = 600; // 10 buckets of a minute
  const predictive = { enabled: true, weight: 1, stepSeconds: STEP, seasonSeconds: SEASON, horizonSeconds: 120, maxMape: 30 };
  const load = (s: number) => 500 + 400 * Math.sin((2 * Math.PI * s) / SEASON);

  test("forecast(app) returns the app-level forecast once three seasons are stored", () => {
    const scaler = createScaler({ clock: createFakeClock() });
    scaler.setPolicy("a", policy({ metrics: [{ name: "rps_per_replica", target: 100 }], predictive }));
    scaler.setReplicas("a", 2, [{ id: "r0", phase: "ready" }, { id: "r1", phase: "ready" }]);
    expect(scaler.forecast("a", 0)).toEqual([]);
    const samples: MetricSample[] = [];
    for (let s = 0; s < 3 * SEASON; s++) for (const replica of ["r0", "r1"]) samples.push({ app: "a", replica, metric: "rps_per_replica", value: load(s) / 2, at: s * 1000 });
    scaler.ingest(samples);
    const [f] = scaler.forecast("a", 3 * SEASON * 1000);
    expect(f.metric).toBe("rps_per_replica");
    expect(f.outcome.ok).toBe(true);
    if (!f.outcome.ok) return;
    expect(f.outcome.mean.length).toBe(2);
    // The next bucket's mean load over seconds 1800..1859 of the cycle.
    let expected = 0;
    for (let s = 0; s < STEP; s++) expected += load(s) / STEP;
    expect(Math.abs(f.outcome.mean[0] - expected) / expected).toBeLessThan(0.1);
  });

  test("refits are spread over ticks; an app waiting for its refit uses its previous fit, shifted", () => {
    const scaler = createScaler({ clock: createFakeClock(), forecastRefitsPerTick: 1 });
    const feed = (from: number, to: number) => {
      const samples: MetricSample[] = [];
      for (const app of ["a", "b"]) for (let s = from; s <= to; s++) samples.push({ app, replica: "r0", metric: "rps_per_replica", value: load(s), at: s * 1000 });
      scaler.ingest(samples);
    };
    for (const app of ["a", "b"]) {
      scaler.setPolicy(app, policy({ metrics: [{ name: "rps_per_replica", target: 100 }], predictive }));
      scaler.setReplicas(app, 1, [{ id: "r0", phase: "ready" }]);
    }
    const T = 3 * SEASON;
    feed(0, T);
    const used = (ds: ReturnType<typeof scaler.evaluate>) => ds.map((d) => d.forecast?.outcomes.length ?? 0);
    expect(used(scaler.evaluate(T * 1000))).toEqual([1, 0]);
    expect(used(scaler.evaluate(T * 1000 + 500))).toEqual([1, 1]);
    feed(T + 1, T + STEP);
    // Next bucket: only "a" refits; "b" serves its fit from one bucket ago.
    expect(used(scaler.evaluate((T + STEP) * 1000))).toEqual([1, 1]);
  });

  test("forecast(app) abstains with a reason while the history is short", () => {
    const scaler = createScaler({ clock: createFakeClock() });
    scaler.setPolicy("a", policy({ metrics: [{ name: "rps_per_replica", target: 100 }], predictive }));
    scaler.setReplicas("a", 1, [{ id: "r0", phase: "ready" }]);
    scaler.ingest([{ app: "a", replica: "r0", metric: "rps_per_replica", value: 5, at: 0 }]);
    expect(scaler.forecast("a", 200_000)[0].outcome).toMatchObject({ ok: false, reason: "history-too-short" });
  });

  test("simulate replays a load step: up within seconds, held at the need for the 300 s window after the drop", () => {
    const scaler = createScaler({ clock: createFakeClock() });
    const p = policy({ metrics: [{ name: "rps_per_replica", target: 100 }] });
    const points: SimulationPoint[] = [];
    for (let s = 0; s < 1000; s++) points.push({ at: s * 1000, totals: { rps_per_replica: s >= 100 && s < 400 ? 800 : 100 } });
    const decisions = simulate(p, points, { initialReplicas: 1 });
    const at = (s: number) => decisions[s].desired;
    expect(at(99)).toBe(1);
    // Default scale-up rate: +4 pods per 15 s from the period's start.
    expect(at(101)).toBe(5);
    expect(at(130)).toBeGreaterThanOrEqual(8);
    for (let s = 400; s < 700; s++) expect(at(s)).toBeGreaterThanOrEqual(8);
    expect(at(999)).toBe(1);
    expect(scaler.apps()).toEqual([]);
  });

  test("with the forecast, a replay of a daily-like cycle scales up before the reactive one does", () => {
    const scaler = createScaler({ clock: createFakeClock() });
    const reactive = policy({ metrics: [{ name: "rps_per_replica", target: 100 }] });
    const predicted = policy({ metrics: [{ name: "rps_per_replica", target: 100 }], predictive });
    const points: SimulationPoint[] = [];
    for (let s = 0; s < 4 * SEASON; s++) points.push({ at: s * 1000, totals: { rps_per_replica: load(s) } });
    const lastSeason = (ds: ReturnType<typeof simulate>) => ds.slice(3 * SEASON);
    const sum = (ds: ReturnType<typeof simulate>) => lastSeason(ds).reduce((t, d) => t + d.desired, 0);
    const withForecast = simulate(predicted, points);
    const without = simulate(reactive, points);
    expect(sum(withForecast)).toBeGreaterThan(sum(without));
    expect(lastSeason(withForecast).some((d) => d.rule === "forecast")).toBe(true);
    // Never below what the reactive rules alone would ask at the same moment.
    for (const d of lastSeason(withForecast)) if (d.reactive !== null && d.recommendation !== null) expect(d.recommendation).toBeGreaterThanOrEqual(d.reactive);
  });
});
