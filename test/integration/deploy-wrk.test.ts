// Rolling, canary and blue-green rollouts of real replicas on the compiled agent while wrk drives keep-alive load
// through its balancer: wrk's own counts (non-2xx answers, socket errors: connect, read, write, timeout) are 0.
import { describe, expect, test } from "bun:test";
import { deployWebApp, freePort, replicas } from "../fixtures/it-apps-fixture.ts";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { startWrk } from "../support/wrk.ts";

const served = async (agent: RunningAgent) => ((await (await agent.api("/v1/balancers/web")).json()) as { stats: { totals: { requests: number } } }).stats.totals.requests;

const STRATEGIES: Array<[string, Record<string, unknown>]> = [
  ["rolling", { max_surge: 1, max_unavailable: 0 }],
  ["canary", { strategy: "canary", canary: { replicas: 1, steps: [{ weight: 25, pause: "2s" }, { weight: 75, pause: "2s" }] } }],
  ["blue_green", { strategy: "blue_green", rollback_window: "2s" }],
];

describe("rollouts under wrk", () => {
  test.each(STRATEGIES)("a %s rollout of 3 replicas under wrk: 0 non-2xx answers and 0 socket errors", async (_name, strategy) => {
    const port = freePort();
    const app = deployWebApp({
      checks: [{ kind: "http", path: "/", interval: "1s", timeout: "800ms" }],
      deploy: { min_healthy_time: "1s", healthy_deadline: "20s", ...strategy },
    });
    await using agent = await startAgent({ config: { api: { allow_api_commands: true }, apps: [app], balancers: [{ name: "web", listen: `127.0.0.1:${port}`, algorithm: "least_request", backends: { app: "web" } }] } });
    await waitFor(async () => (await replicas(agent, "web")).filter((r) => r.state === "ready").length === 3, { timeoutMs: 30_000, what: "3 ready replicas" });
    const wrk = startWrk(`http://127.0.0.1:${port}/`, { connections: 16, threads: 2, maxSeconds: 90 });
    let counts;
    let status = "";
    try {
      await waitFor(async () => (await served(agent)) >= 500, { timeoutMs: 20_000, what: "wrk's load flowing" });
      const res = await agent.api("/v1/apps/web/deployments", { method: "POST", body: JSON.stringify({ spec: { env: { VERSION: "v2" } } }) });
      expect(res.status).toBe(202);
      const id = String(((await res.json()) as { id: string }).id);
      status = await waitFor(async () => {
        const r = (await (await agent.api(`/v1/apps/web/deployments/${id}`)).json()) as { active: boolean; status: string };
        return r.active ? undefined : r.status;
      }, { timeoutMs: 75_000, what: "the rollout to end" });
      // Load on the new set after the rollout, through the same wrk connections.
      const after = await served(agent);
      await waitFor(async () => (await served(agent)) >= after + 500, { timeoutMs: 20_000, what: "load after the rollout" });
    } finally {
      counts = await wrk.stop();
    }
    console.log(`${_name} under wrk: ${counts.requests} requests, ${counts.non2xx} non-2xx, ${counts.socketErrors} socket errors`);
    expect(status).toBe("succeeded");
    expect(counts.requests).toBeGreaterThan(1000);
    expect({ non2xx: counts.non2xx, socketErrors: counts.socketErrors }).toEqual({ non2xx: 0, socketErrors: 0 });
    const rs = (await replicas(agent, "web")).filter((r) => r.state === "ready") as unknown as Array<{ revision: number }>;
    expect(rs.map((r) => r.revision)).toEqual([2, 2, 2]);
  }, 150_000);
});
