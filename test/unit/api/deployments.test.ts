// POST /v1/apps/:name/deployments in-process: the strategy override's analysis (replacing the app's, defaults for
// the keys left out, null for none) reaches the deploy runner as rollout options; bad thresholds are 400s naming
// the field, and nothing is deployed.
import { describe, expect, test } from "bun:test";
import { createApi } from "../../../src/api/app.ts";
import { createTokenAuthenticator } from "../../../src/api/auth.ts";
import { deploymentRoutes } from "../../../src/api/deployments.ts";
import { type RolloutOptions, startRollout } from "../../../src/core/deploy/rollout.ts";
import type { RolloutView } from "../../../src/supervisor/deploy-runner.ts";

const TOKEN = "admin-token-0123456789";
const BASE: RolloutOptions = { maxSurge: 1, maxUnavailable: 0, minHealthyMs: 1_000, healthyDeadlineMs: 60_000, progressDeadlineMs: 300_000, autoRevert: true, analysis: null };

function api() {
  const calls: Array<Partial<RolloutOptions>> = [];
  const view = (): RolloutView => ({ ...startRollout({ id: "web-2", app: "web", kind: "deploy", from: 1, to: 2, options: BASE, by: "t" }, 0).state, active: true, status: "running", live: null });
  const app = createApi({
    auth: createTokenAuthenticator(() => [{ name: "a", token: TOKEN, role: "admin" }]),
    bodyLimitBytes: 1024 * 1024,
    ready: () => true,
    modules: [{
      path: "/apps",
      app: deploymentRoutes({
        known: (a) => a === "web",
        current: () => ({ current: 1, target: 1 }),
        rollouts: () => [],
        rollout: () => undefined,
        revisions: () => [],
        prepare: (_a, patch) => ({ ok: true, fields: patch }),
        allowCommands: () => true,
        deploy: (_a, _f, _by, options) => {
          calls.push(options);
          return { ok: true, value: view() };
        },
        rollback: () => ({ ok: false, error: { status: 409, code: "x", message: "x" } }),
        control: () => ({ ok: false, error: { status: 409, code: "x", message: "x" } }),
      }),
    }],
  });
  const post = (body: unknown) => app.request("/v1/apps/web/deployments", { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { calls, post };
}

describe("a deployment's analysis override", () => {
  test.each([
    ["given keys, the rest from the defaults (p99 follows the p95 ratio)", { max_latency_ratio: 2, min_requests: 200 }, { maxErrorRatio: 0.05, maxLatencyRatio: 2, maxP99Ratio: 2, minRequests: 200 }],
    ["its own p99 ratio", { max_p99_ratio: 8 }, { maxErrorRatio: 0.05, maxLatencyRatio: 3, maxP99Ratio: 8, minRequests: 50 }],
    ["null: no analysis for this rollout", null, null],
  ] as const)("%s", async (_what, analysis, expected) => {
    const { calls, post } = api();
    const res = await post({ spec: { env: { V: "2" } }, strategy: { analysis } });
    expect(res.status).toBe(202);
    expect(calls).toEqual([{ analysis: expected }]);
  });

  test("contrast: without the key the app's own analysis stays (no override is passed)", async () => {
    const { calls, post } = api();
    expect((await post({ spec: { env: { V: "2" } }, strategy: { max_surge: 2 } })).status).toBe(202);
    expect(calls).toEqual([{ maxSurge: 2 }]);
  });

  test.each([
    ["max_p99_ratio", 0.5],
    ["max_error_ratio", 2],
    ["min_requests", 0],
  ])("a bad %s (%p) is a 400 naming it, and nothing is deployed", async (field, value) => {
    const { calls, post } = api();
    const res = await post({ spec: { env: { V: "2" } }, strategy: { analysis: { [field]: value } } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain(field);
    expect(calls).toEqual([]);
  });
});
