// The `deploy:` block's canary replica count: a count or a percent of the desired, mapped to the rollout options;
// anything else is refused with its path and value.
import { describe, expect, test } from "bun:test";
import { decodeConfig } from "../../../src/config/load.ts";
import { toRolloutOptions } from "../../../src/config/deploy.ts";

const app = (replicas: unknown) => ({ apps: [{ name: "web", command: "/bin/true", replicas: 4, deploy: { strategy: "canary", canary: { replicas, steps: [{ weight: 10 }] } } }] });

describe("canary.replicas", () => {
  test.each([
    [2, 2],
    ["25%", { percent: 25 }],
    ["100%", { percent: 100 }],
  ] as const)("%p is taken (as %p)", (replicas, expected) => {
    const r = decodeConfig(app(replicas), "agent.yaml");
    if (!r.ok) throw new Error(r.error.message);
    expect(toRolloutOptions(r.config.apps[0]!.deploy).stepReplicas).toEqual(expected);
  });

  test.each(["0%", "150%", "25 %", "half", 0, 1.5])("%p is refused naming apps[0].deploy.canary.replicas", (replicas) => {
    const r = decodeConfig(app(replicas), "agent.yaml");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain("apps[0].deploy.canary.replicas");
  });
});
