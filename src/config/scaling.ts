// Maps an app's `scaling:` block (snake_case, durations in ms) onto the scaler's policy input (see src/core/scaling/policy.ts).
import type { ScalingPolicyConfig } from "./schema.ts";

type Direction = ScalingPolicyConfig["scale_up"];

const SELECT = { max: "Max", min: "Min", disabled: "Disabled" } as const;
const RULE = { pods: "Pods", percent: "Percent" } as const;

function direction(d: Direction): Record<string, unknown> {
  return {
    ...(d.stabilization_window !== undefined ? { stabilizationWindowSeconds: d.stabilization_window / 1000 } : {}),
    ...(d.select_policy !== undefined ? { selectPolicy: SELECT[d.select_policy] } : {}),
    ...(d.policies !== undefined ? { policies: d.policies.map((p) => ({ type: RULE[p.type], value: p.value, periodSeconds: p.period / 1000 })) } : {}),
    ...(d.tolerance !== undefined ? { tolerance: d.tolerance } : {}),
    ...(d.cooldown !== undefined ? { cooldownSeconds: d.cooldown / 1000 } : {}),
  };
}

export function toScalePolicyInput(s: ScalingPolicyConfig, min: number, max: number): Record<string, unknown> {
  return {
    min,
    max,
    metrics: s.metrics.map((m) => ({ name: m.name, target: m.target })),
    behavior: { scaleUp: direction(s.scale_up), scaleDown: direction(s.scale_down) },
    predictive: {
      enabled: s.predictive.enabled,
      weight: s.predictive.weight,
      horizonSeconds: s.predictive.horizon / 1000,
      stepSeconds: s.predictive.step / 1000,
      seasonSeconds: s.predictive.season / 1000,
      maxMape: s.predictive.max_mape,
      method: s.predictive.method,
    },
    dryRun: s.dry_run,
    metricWindowSeconds: s.metric_window / 1000,
  };
}
