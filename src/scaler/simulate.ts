// Replays an app-level metric series through a policy with the live scaler code and returns every decision.
//
// Each point gives app-level totals per metric (utilization metrics in percent-replicas, e.g. 3
// replicas at 50% cpu = 150; latency as the value itself). The total is spread evenly over the
// replicas the simulation currently has, all ready with a request of 1000; at zero replicas it
// arrives as demand. Every decision is applied at once (dry-run is ignored: the point is to see
// what the policy would do).
import type { Decision } from "../core/scaling/decide.ts";
import type { MetricName, ScalePolicy } from "../core/scaling/policy.ts";
import type { MetricSample, SimulationPoint } from "../protocol/scaler.ts";
import { createScaler } from "./scaler.ts";

export type { SimulationPoint };

export interface SimulationOptions {
  readonly initialReplicas?: number;
}

const REQUEST = 1000;
const APP = "simulated";

export function simulate(
  policy: ScalePolicy,
  points: readonly SimulationPoint[],
  options: SimulationOptions = {},
): Decision[] {
  let now = points.length > 0 ? points[0].at : 0;
  const scaler = createScaler({ clock: { now: () => now }, forecastRefitsPerTick: 1 });
  scaler.setPolicy(APP, { ...policy, dryRun: false });
  let current = options.initialReplicas ?? Math.max(policy.min, 1);
  const decisions: Decision[] = [];
  for (const point of points) {
    now = point.at;
    const ids = Array.from({ length: current }, (_, i) => `r${i}`);
    scaler.setReplicas(APP, current, ids.map((id) => ({ id, phase: "ready", cpuRequest: REQUEST, memoryRequest: REQUEST })));
    const samples: MetricSample[] = [];
    for (const [metric, total] of Object.entries(point.totals) as [MetricName, number][]) {
      if (current === 0) {
        samples.push({ app: APP, metric, value: total, at: now });
        continue;
      }
      const perReplica = metric === "latency_p95_ms" ? total : total / current;
      const value = metric === "cpu" || metric === "memory" ? (perReplica * REQUEST) / 100 : perReplica;
      for (const replica of ids) samples.push({ app: APP, replica, metric, value, at: now });
    }
    scaler.ingest(samples);
    for (const d of scaler.evaluate(now)) {
      decisions.push(d);
      current = d.desired;
    }
  }
  return decisions;
}
