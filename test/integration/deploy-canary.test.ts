// Canary and blue-green rollouts on the compiled agent, real replicas behind its balancer: the canary's traffic
// share at the balancer is the step's weight (not the replica ratio), promote finishes it; blue-green switches all
// traffic at once and an abort inside the rollback window switches it back, with no failed request under load.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { deployWebApp, events, freePort, load, replicaProcesses, replicas } from "../fixtures/it-apps-fixture.ts";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";

interface Rollout {
  id: string;
  status: string;
  active: boolean;
  reason: string;
  step: number | null;
  step_at: string | null;
  split: { revision: number; percent: number } | null;
}

async function startWeb(deploy: Record<string, unknown>, algorithm: string, balancer: Record<string, unknown> = {}) {
  const port = freePort();
  const app = deployWebApp({ deploy: { min_healthy_time: "1s", healthy_deadline: "10s", ...deploy } });
  const agent = await startAgent({ config: { api: { allow_api_commands: true }, apps: [app], balancers: [{ name: "web", listen: `127.0.0.1:${port}`, algorithm, backends: { app: "web" }, ...balancer }] } });
  await waitFor(async () => (await replicas(agent, "web")).filter((r) => r.state === "ready").length === 3, { timeoutMs: 30_000, what: "3 ready replicas" });
  return { agent, port };
}

const rollout = async (agent: RunningAgent, id: string) => (await (await agent.api(`/v1/apps/web/deployments/${id}`)).json()) as Rollout;
const until = (agent: RunningAgent, id: string, what: string, ok: (r: Rollout) => boolean) =>
  waitFor(async () => {
    const r = await rollout(agent, id);
    return ok(r) ? r : undefined;
  }, { timeoutMs: 45_000, what });

async function deployV2(agent: RunningAgent): Promise<string> {
  const res = await agent.api("/v1/apps/web/deployments", { method: "POST", body: JSON.stringify({ spec: { env: { VERSION: "v2" } } }) });
  expect(res.status).toBe(202);
  return String(((await res.json()) as Rollout).id);
}

/** `n` requests, `concurrency` at a time: how many answers came from each version (with `keyed`, each its own x-user key). */
async function versions(port: number, n: number, concurrency = 4, keyed = false): Promise<{ v1: number; v2: number; failed: number }> {
  const out = { v1: 0, v2: 0, failed: 0 };
  let left = n;
  let user = 0;
  const loop = async () => {
    while (left-- > 0) {
      try {
        const headers = keyed ? { "x-user": `user-${user++}` } : undefined;
        const res = await fetch(`http://127.0.0.1:${port}/`, { headers, signal: AbortSignal.timeout(10_000) });
        const body = await res.text();
        if (res.status === 200 && body.includes("version v2")) out.v2++;
        else if (res.status === 200 && body.includes("version v1")) out.v1++;
        else out.failed++;
      } catch {
        out.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return out;
}

describe("canary", () => {
  // The three: one that ignores weights, one that follows load, one keyed (a key per request here: the
  // keyed split is exact over keys). 1 canary beside 3 old replicas would be 25% by count; the split makes it 10%.
  test.each(["round_robin", "least_request", "consistent_hash"])("the canary takes its step's share at a %s balancer over 10,000 requests (±2 points), not the replica ratio; promote finishes the rollout", async (algorithm) => {
    const keyed = algorithm === "consistent_hash";
    const { agent, port } = await startWeb({ strategy: "canary", canary: { replicas: 1, steps: [{ weight: 10 }] } }, algorithm, keyed ? { hash_key: { source: "header", name: "x-user" } } : {});
    try {
      const id = await deployV2(agent);
      const held = await until(agent, id, "the canary at its step", (r) => r.reason === "awaiting-promote" && r.split?.percent === 10);
      expect(held).toMatchObject({ status: "running", step: 0, split: { revision: 2, percent: 10 } });
      const n = 10_000;
      const seen = await versions(port, n, 8, keyed);
      expect(seen.failed).toBe(0);
      const share = (seen.v2 / n) * 100;
      expect(Math.abs(share - 10)).toBeLessThanOrEqual(2);

      const promoted = await agent.api(`/v1/apps/web/deployments/${id}/promote`, { method: "POST", body: "{}" });
      expect(promoted.status).toBe(200);
      const done = await until(agent, id, "the rollout to end", (r) => !r.active);
      expect(done).toMatchObject({ status: "succeeded", split: null });
      const after = await versions(port, 200);
      expect(after).toEqual({ v1: 0, v2: 200, failed: 0 });
      // Nothing left to promote.
      expect((await agent.api(`/v1/apps/web/deployments/${id}/promote`, { method: "POST", body: "{}" })).status).toBe(409);
    } finally {
      await agent.stop();
    }
  }, 150_000);
});

describe("an agent killed during a canary step", () => {
  test("resumes at the same step with the same split after its restart: the canary is adopted, not started again, and takes the step's share", async () => {
    let { agent, port } = await startWeb({ strategy: "canary", canary: { replicas: 1, steps: [{ weight: 20, pause: "10m" }, { weight: 50 }] } }, "round_robin");
    const owner = join(agent.dir, "data", "logs");
    try {
      const id = await deployV2(agent);
      const held = await until(agent, id, "the canary at its first step", (r) => r.step === 0 && r.split?.percent === 20);
      // The contrast for "not started again" below: this agent spawned its replicas and the canary.
      expect((await events(agent)).filter((e) => e.type === "proc.spawned").length).toBeGreaterThanOrEqual(4);
      const before = await replicas(agent, "web");
      const pids = before.map((r) => r.pid).sort();
      expect(before).toHaveLength(4);
      agent.proc.kill("SIGKILL");
      await agent.proc.exited;
      expect(replicaProcesses(owner, "web").sort()).toEqual(pids as number[]);

      agent = await startAgent({ sameDirAs: agent });
      let most = 0;
      const resumed = await waitFor(async () => {
        most = Math.max(most, replicaProcesses(owner, "web").length);
        const rs = await replicas(agent, "web");
        return rs.length === 4 && rs.every((r) => r.state === "ready") ? rs : undefined;
      }, { timeoutMs: 30_000, what: "the 4 replicas adopted and ready" });
      // The same processes: adopted, none started again (a new canary would have a new pid).
      expect(resumed.map((r) => r.pid).sort()).toEqual(pids);
      expect(resumed.every((r) => r.adopted)).toBe(true);
      const after = await rollout(agent, id);
      // Same step, same split, and its pause counts from when the step began, not from the restart.
      expect(after).toMatchObject({ status: "running", active: true, step: 0, split: { revision: 2, percent: 20 }, step_at: held.step_at });
      // The split reached the restarted balancer workers: the canary takes 20% (1 of 4 replicas by count: 25%).
      const seen = await versions(port, 2_000, 4);
      expect(seen.failed).toBe(0);
      expect(Math.abs((seen.v2 / 2_000) * 100 - 20)).toBeLessThanOrEqual(1);
      expect((await events(agent)).filter((e) => e.type === "proc.spawned")).toEqual([]);

      // And it goes on from there: the next step, then the rest replaced.
      expect((await agent.api(`/v1/apps/web/deployments/${id}/promote`, { method: "POST", body: "{}" })).status).toBe(200);
      await until(agent, id, "the second step", (r) => r.step === 1 && r.split?.percent === 50);
      expect((await agent.api(`/v1/apps/web/deployments/${id}/promote`, { method: "POST", body: "{}" })).status).toBe(200);
      const done = await until(agent, id, "the rollout to end", (r) => !r.active);
      expect(done.status).toBe("succeeded");
      most = Math.max(most, replicaProcesses(owner, "web").length);
      expect(most).toBeLessThanOrEqual(4);
    } finally {
      await agent.stop();
    }
  }, 150_000);
});

describe("a bad canary", () => {
  test("one that answers 500 gets no traffic before it passes, is reverted by itself, and no request fails", async () => {
    const { agent, port } = await startWeb({ strategy: "canary", canary: { replicas: 1, steps: [{ weight: 50, pause: "30s" }] }, healthy_deadline: "6s" }, "weighted_round_robin");
    const traffic = load(port, 4, 60_000);
    try {
      await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
      const res = await agent.api("/v1/apps/web/deployments", { method: "POST", body: JSON.stringify({ spec: { env: { VERSION: "v2", MODE: "error" } } }) });
      expect(res.status).toBe(202);
      const id = String(((await res.json()) as Rollout).id);
      const done = await until(agent, id, "the revert to end", (r) => !r.active);
      expect(done).toMatchObject({ status: "reverted", reason: "reverted", split: null });
      expect((done as unknown as { failure: string }).failure).toContain("healthy_deadline");
      const before = traffic.ok;
      await waitFor(() => traffic.ok >= before + 50, { timeoutMs: 20_000, what: "load after the revert" });
    } finally {
      await traffic.stop();
      await agent.stop();
    }
    expect(traffic.failures).toEqual([]);
  }, 120_000);
});

describe("blue_green", () => {
  test("switches all traffic to the new set at once and, aborted inside the rollback window, back to the old set, with no failed request", async () => {
    const { agent, port } = await startWeb({ strategy: "blue_green", rollback_window: "5m", max_surge: 1 }, "least_request");
    const traffic = load(port, 4, 60_000);
    try {
      await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
      const id = await deployV2(agent);
      // Before the switch the new set serves nothing.
      await until(agent, id, "the green set up", (r) => r.split !== null);
      await until(agent, id, "the switch", (r) => r.split?.percent === 100 && r.split.revision === 2);
      const green = await waitFor(async () => {
        const v = await versions(port, 100);
        return v.v2 === 100 ? v : undefined;
      }, { timeoutMs: 20_000, what: "all traffic on the green set" });
      expect(green.failed).toBe(0);
      // 6 replicas run: the blue set waits, warm, for the window.
      expect((await replicas(agent, "web")).filter((r) => r.state === "ready").length).toBe(6);

      const abort = await agent.api(`/v1/apps/web/deployments/${id}/abort`, { method: "POST", body: "{}" });
      expect(abort.status).toBe(200);
      const back = await waitFor(async () => {
        const v = await versions(port, 100);
        return v.v1 === 100 ? v : undefined;
      }, { timeoutMs: 20_000, what: "all traffic back on the blue set" });
      expect(back.failed).toBe(0);
      const done = await until(agent, id, "the revert to end", (r) => !r.active);
      expect(done.status).toBe("reverted");
    } finally {
      await traffic.stop();
      await agent.stop();
    }
    expect(traffic.failures).toEqual([]);
  }, 120_000);
});
