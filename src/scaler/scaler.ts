// The scaler's state: per-app metric series, policies and behavior; evaluates every app per tick (src/scaler/simulate.ts replays series through it).
//
// Contract: `ingest` takes per-second samples (`at` in ms on the same clock as `evaluate`);
// replica samples feed a per-replica ring (averaged over the policy's metric window) and the
// app's forecast buckets, samples without a replica are app-level demand (load waiting while the
// app is at zero). NaN, infinite and negative values and unknown metric names are skipped and
// reported in the next decision's notes. `setReplicas` must have been called for an app before
// it gets decisions. A non-dry-run decision moves the scaler's idea of the current count at once,
// so the next tick does not decide the same change again before the supervisor reports back.
import { type BehaviorState, createBehaviorState } from "../core/scaling/behavior.ts";
import { commitDecision, type Decision, decide, isForecastable, type MetricForecast, type MetricInput } from "../core/scaling/decide.ts";
import { forecastSeries, type ForecastOutcome } from "../core/scaling/forecast/forecast.ts";
import type { ReplicaPhase, ReplicaReading } from "../core/scaling/hpa.ts";
import { isMetricName, type MetricName, type ScalePolicy } from "../core/scaling/policy.ts";
import type { Clock } from "../core/time.ts";
import { type BucketSeries, createBucketSeries } from "./bucket-series.ts";
import { createSecondRing, type SecondRing } from "./second-ring.ts";
import type { MetricSample, ReplicaInfo } from "../protocol/scaler.ts";

export type { MetricSample, ReplicaInfo };

export interface IngestReport {
  readonly accepted: number;
  readonly skipped: number;
}

export interface ScalerOptions {
  readonly clock: Clock;
  /** Forecast refits allowed per evaluate call (default 2, ~1 ms each for a 3-day series of 5-minute buckets), so bucket boundaries do not stall a tick; apps waiting for a refit use their previous fit, shifted. */
  readonly forecastRefitsPerTick?: number;
}

export interface Scaler {
  setPolicy(app: string, policy: ScalePolicy): void;
  removeApp(app: string): void;
  setReplicas(app: string, current: number, replicas: readonly ReplicaInfo[]): void;
  ingest(samples: readonly MetricSample[]): IngestReport;
  evaluate(now?: number): Decision[];
  forecast(app: string, now?: number): MetricForecast[];
  /** Replays a series through `policy` in a fresh scaler; this scaler's state is untouched. */
  apps(): string[];
}

interface CachedForecast {
  fromBucket: number;
  outcome: ForecastOutcome;
}

interface AppState {
  policy: ScalePolicy | null;
  current: number | null;
  replicas: readonly ReplicaInfo[];
  readonly rings: Map<string, Map<string, SecondRing>>;
  readonly demand: Map<string, SecondRing>;
  readonly buckets: Map<string, BucketSeries>;
  readonly forecasts: Map<string, CachedForecast>;
  readonly skipped: Map<string, number>;
  readonly behavior: BehaviorState;
}

/** Rings hold at least this many seconds so a policy change to a longer window keeps some history. */
const MIN_RING_SECONDS = 60;

function requestOf(r: ReplicaInfo | undefined, metric: string): number | undefined {
  if (metric === "cpu") return r?.cpuRequest;
  if (metric === "memory") return r?.memoryRequest;
  return undefined;
}

/**
 * The window's mean, ending at the newest sample when that is from this second or the one before.
 * Samples arrive once a second from timers that are not in phase with the evaluation: at a given
 * tick this second's sample may not be in yet, and a window ending at `second` would then miss it,
 * which for a 1 s window means no reading at all (every metric invalid, no decision, for as long as
 * the two timers stay in that phase).
 */
function meanUpTo(ring: SecondRing | undefined, second: number, window: number): number | undefined {
  if (!ring) return undefined;
  const end = ring.last === second - 1 ? second - 1 : second;
  return ring.mean(end, window);
}

function newApp(): AppState {
  return { policy: null, current: null, replicas: [], rings: new Map(), demand: new Map(), buckets: new Map(), forecasts: new Map(), skipped: new Map(), behavior: createBehaviorState() };
}

/** Shifts a forecast made `lag` buckets ago so it starts at the current bucket. */
function shifted(outcome: ForecastOutcome, lag: number, horizon: number): ForecastOutcome {
  if (!outcome.ok) return outcome;
  const cut = (a: number[]) => a.slice(lag, lag + horizon);
  return { ...outcome, mean: cut(outcome.mean), lower: cut(outcome.lower), upper: cut(outcome.upper) };
}

export function createScaler(options: ScalerOptions): Scaler {
  const { clock } = options;
  const refitsPerTick = options.forecastRefitsPerTick ?? 2;
  const apps = new Map<string, AppState>();
  const app = (name: string) => {
    let a = apps.get(name);
    if (!a) apps.set(name, (a = newApp()));
    return a;
  };

  function skip(a: AppState, reason: string): void {
    a.skipped.set(reason, (a.skipped.get(reason) ?? 0) + 1);
  }

  function bucketsFor(a: AppState, metric: MetricName): BucketSeries | null {
    const p = a.policy?.predictive;
    if (!p?.enabled || !isForecastable(metric)) return null;
    let b = a.buckets.get(metric);
    if (!b) {
      // Three seasons: two to seed Holt-Winters, one more for the error estimate.
      const capacity = 3 * (p.seasonSeconds / p.stepSeconds) + 1;
      a.buckets.set(metric, (b = createBucketSeries(p.stepSeconds, capacity)));
    }
    return b;
  }

  function forecastFor(a: AppState, metric: MetricName, second: number, budget: { left: number }): MetricForecast | null {
    const p = a.policy?.predictive;
    const b = a.buckets.get(metric);
    if (!p?.enabled || !b || !isForecastable(metric)) return null;
    const season = p.seasonSeconds / p.stepSeconds;
    const horizon = Math.max(1, Math.ceil(p.horizonSeconds / p.stepSeconds));
    const now = b.bucketOf(second);
    let cached = a.forecasts.get(metric);
    if ((!cached || cached.fromBucket !== now) && budget.left > 0) {
      budget.left--;
      // Predict a season beyond the horizon so a cached fit can serve later buckets until refit.
      const outcome = forecastSeries(b.completed(second), { method: p.method, season, horizon: horizon + season, maxMape: p.maxMape });
      a.forecasts.set(metric, (cached = { fromBucket: now, outcome }));
    }
    if (!cached) return null;
    return { metric, outcome: shifted(cached.outcome, now - cached.fromBucket, horizon) };
  }

  function inputsOf(a: AppState, policy: ScalePolicy, second: number): MetricInput[] {
    const window = policy.metricWindowSeconds;
    return policy.metrics.map((spec) => {
      const rings = a.rings.get(spec.name);
      const readings: ReplicaReading[] = a.replicas.map((r) => {
        const mean = meanUpTo(rings?.get(r.id), second, window);
        return { phase: r.phase, value: mean === undefined || Number.isNaN(mean) ? undefined : mean, request: requestOf(r, spec.name) };
      });
      const demand = meanUpTo(a.demand.get(spec.name), second, window);
      return demand === undefined || Number.isNaN(demand) ? { name: spec.name, readings } : { name: spec.name, readings, demand };
    });
  }

  function evaluateApp(name: string, a: AppState, now: number, budget: { left: number }): Decision | null {
    const policy = a.policy;
    if (!policy || a.current === null) return null;
    const second = Math.floor(now / 1000);
    const notes = [...a.skipped].map(([reason, n]) => `${n} sample(s) skipped: ${reason}`);
    a.skipped.clear();
    const forecasts: MetricForecast[] = [];
    if (policy.predictive.enabled) {
      for (const spec of policy.metrics) {
        const f = forecastFor(a, spec.name, second, budget);
        if (f) forecasts.push(f);
      }
    }
    const decision = decide({ app: name, now, policy, currentReplicas: a.current, metrics: inputsOf(a, policy, second), forecasts, state: a.behavior, notes });
    commitDecision(a.behavior, decision, policy);
    if (!decision.dryRun) a.current = decision.desired;
    return decision;
  }

  return {
    apps: () => [...apps.keys()],
    setPolicy: function setPolicy(name, policy) {
      const a = app(name);
      const before = a.policy;
      a.policy = policy;
      // A different bucket layout makes the stored buckets and fits meaningless.
      if (before && (before.predictive.stepSeconds !== policy.predictive.stepSeconds || before.predictive.seasonSeconds !== policy.predictive.seasonSeconds)) {
        a.buckets.clear();
        a.forecasts.clear();
      }
    },
    removeApp: (name) => void apps.delete(name),
    setReplicas: function setReplicas(name, current, replicas) {
      const a = app(name);
      a.current = current;
      a.replicas = replicas;
      const live = new Set(replicas.map((r) => r.id));
      for (const perReplica of a.rings.values()) for (const id of perReplica.keys()) if (!live.has(id)) perReplica.delete(id);
    },
    ingest: function ingest(samples) {
      let accepted = 0;
      let skipped = 0;
      for (const s of samples) {
        const a = app(s.app);
        if (!isMetricName(s.metric)) {
          skip(a, `unknown metric ${s.metric}`);
          skipped++;
          continue;
        }
        if (!Number.isFinite(s.value) || s.value < 0) {
          skip(a, `${s.metric} ${Number.isNaN(s.value) ? "NaN" : s.value < 0 ? "negative" : "infinite"}`);
          skipped++;
          continue;
        }
        const second = Math.floor(s.at / 1000);
        const size = Math.max(MIN_RING_SECONDS, a.policy?.metricWindowSeconds ?? 0);
        if (s.replica === undefined) {
          let ring = a.demand.get(s.metric);
          if (!ring) a.demand.set(s.metric, (ring = createSecondRing(size)));
          ring.put(second, s.value);
        } else {
          let perReplica = a.rings.get(s.metric);
          if (!perReplica) a.rings.set(s.metric, (perReplica = new Map()));
          let ring = perReplica.get(s.replica);
          if (!ring) perReplica.set(s.replica, (ring = createSecondRing(size)));
          ring.put(second, s.value);
          const buckets = bucketsFor(a, s.metric);
          if (buckets) {
            const request = requestOf(a.replicas.find((r) => r.id === s.replica), s.metric);
            if (s.metric !== "cpu" && s.metric !== "memory") buckets.add(second, s.value);
            else if (request && request > 0) buckets.add(second, (s.value / request) * 100);
          }
        }
        accepted++;
      }
      return { accepted, skipped };
    },
    evaluate: function evaluate(now = clock.now()) {
      const budget = { left: refitsPerTick };
      const out: Decision[] = [];
      for (const [name, a] of apps) {
        const d = evaluateApp(name, a, now, budget);
        if (d) out.push(d);
      }
      return out;
    },
    forecast: function forecast(name, now = clock.now()) {
      const a = apps.get(name);
      if (!a?.policy?.predictive.enabled) return [];
      const second = Math.floor(now / 1000);
      const budget = { left: Infinity };
      return a.policy.metrics.map((m) => forecastFor(a, m.name, second, budget)).filter((f): f is MetricForecast => f !== null);
    },
  };
}
