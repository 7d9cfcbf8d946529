// Policy validation: defaults for a minimal policy, and every error reported with its path.
import { describe, expect, test } from "bun:test";
import { DEFAULT_BEHAVIOR } from "../../../../src/core/scaling/behavior.ts";
import { DEFAULT_PREDICTIVE, validatePolicy } from "../../../../src/core/scaling/policy.ts";

function errors(input: unknown): Array<[string, string]> {
  const v = validatePolicy(input);
  if (v.ok) return [];
  return v.errors.map((e) => [e.path, e.message]);
}

describe("a valid policy", () => {
  test("a minimal policy gets the Kubernetes behavior defaults", () => {
    const v = validatePolicy({ max: 5, metrics: [{ name: "cpu", target: 70 }] });
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.policy).toMatchObject({ min: 1, max: 5, dryRun: false, behavior: DEFAULT_BEHAVIOR, predictive: DEFAULT_PREDICTIVE });
  });

  test("every builtin metric and a custom one are accepted", () => {
    const metrics = ["cpu", "memory", "rps_per_replica", "latency_p95_ms", "inflight_per_replica", "custom:queue_depth"].map((name) => ({ name, target: 10 }));
    expect(validatePolicy({ min: 0, max: 3, metrics }).ok).toBe(true);
  });

  test("behavior overrides keep the defaults of fields not given", () => {
    const v = validatePolicy({ max: 5, metrics: [{ name: "cpu", target: 70 }], behavior: { scaleDown: { stabilizationWindowSeconds: 60, tolerance: 0.05 } } });
    expect(v.ok && v.policy.behavior.scaleDown).toMatchObject({ stabilizationWindowSeconds: 60, tolerance: 0.05, selectPolicy: "Max", policies: DEFAULT_BEHAVIOR.scaleDown.policies });
  });
});

describe("invalid policies report all errors with their paths", () => {
  test("min above max, a zero target, a negative target and an unknown metric together", () => {
    const found = errors({
      min: 6,
      max: 5,
      metrics: [
        { name: "cpu", target: 0 },
        { name: "rps", target: 10 },
        { name: "memory", target: -5 },
      ],
    });
    expect(found.map(([p]) => p)).toEqual(["min", "metrics[0].target", "metrics[1].name", "metrics[2].target"]);
    expect(found[0][1]).toContain("6 > 5");
  });

  test("bad weights and windows in predictive and behavior", () => {
    const found = errors({
      max: 3,
      metrics: [{ name: "custom:", target: 1 }],
      predictive: { weight: 1.5, stepSeconds: 300, seasonSeconds: 1000, method: "prophet" },
      behavior: {
        scaleUp: { selectPolicy: "Maximum", policies: [{ type: "Pods", value: 0, periodSeconds: 15 }] },
        scaleDown: { stabilizationWindowSeconds: 4000, tolerance: 1, policies: [{ type: "Replicas", value: 1, periodSeconds: 0 }] },
      },
    }).map(([p]) => p);
    expect(found.sort()).toEqual(
      [
        "metrics[0].name",
        "predictive.weight",
        "predictive.seasonSeconds",
        "predictive.method",
        "behavior.scaleUp.selectPolicy",
        "behavior.scaleUp.policies[0].value",
        "behavior.scaleDown.stabilizationWindowSeconds",
        "behavior.scaleDown.tolerance",
        "behavior.scaleDown.policies[0].type",
        "behavior.scaleDown.policies[0].periodSeconds",
      ].sort(),
    );
  });

  test("missing max, empty metrics, duplicates, NaN and unknown fields", () => {
    expect(errors({ metrics: [] })).toEqual([
      ["max", "is required"],
      ["metrics", "must be a non-empty list"],
    ]);
    expect(errors({ max: 2, metrics: [{ name: "cpu", target: 50 }, { name: "cpu", target: Number.NaN }], maxReplicas: 3 }).map(([p]) => p)).toEqual([
      "metrics[1].name",
      "metrics[1].target",
      "maxReplicas",
    ]);
  });

  test("a non-object is one error at the root", () => {
    expect(errors("cpu")).toEqual([["", "policy must be an object"]]);
  });
});
