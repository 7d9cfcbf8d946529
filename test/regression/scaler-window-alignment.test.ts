// Regression: with a 1 s metric window, a tick that ran before this second's stats arrived saw no reading at all,
// so every metric was invalid and nothing scaled for as long as the stats and evaluation timers kept that phase.
import { expect, test } from "bun:test";
import { type ScalePolicy, validatePolicy } from "../../src/core/scaling/policy.ts";
import { createScaler, type MetricSample, type ReplicaInfo } from "../../src/scaler/scaler.ts";
import { createFakeClock } from "../support/fake-clock.ts";

function policy(): ScalePolicy {
  const v = validatePolicy({ min: 1, max: 10, metrics: [{ name: "cpu", target: 50 }], metricWindowSeconds: 1 });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.policy;
}

const replicas: ReplicaInfo[] = [0, 1].map((i) => ({ id: `r${i}`, phase: "ready", cpuRequest: 1000 }));
const samplesAt = (at: number): MetricSample[] => replicas.map((r) => ({ app: "a", replica: r.id, metric: "cpu", value: 1000, at }));

function scalerWith(samples: MetricSample[]) {
  const scaler = createScaler({ clock: createFakeClock() });
  scaler.setPolicy("a", policy());
  scaler.setReplicas("a", 2, replicas);
  scaler.ingest(samples);
  return scaler;
}

test("a 1 s window still sees the previous second's sample when this second's has not arrived yet", () => {
  // Stats reach the scaler at x.8; the scaler evaluates at x.3.
  const [d] = scalerWith(samplesAt(9_800)).evaluate(10_300);
  expect(d).toMatchObject({ desired: 4, action: "scale-up" });
});

test("contrast: a sample older than the previous second is not a reading for a 1 s window", () => {
  const [d] = scalerWith(samplesAt(8_800)).evaluate(10_300);
  expect(d).toMatchObject({ desired: 2, action: "none", rule: "invalid-metrics" });
});
