// Autoscaling on the compiled binary: a request-rate policy behind the HTTP balancer scales the demo app up under
// load and back down after the stabilization window; dry runs record only; bad policies are refused whole;
// simulation replays a series.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { freePort } from "../support/ports.ts";
import { waitFor } from "../support/wait-for.ts";

interface Summary {
  at: number;
  current: number;
  desired: number;
  action: string;
  reason: string;
  rule: string;
  dryRun: boolean;
  decision: { perMetric: Array<{ metric: string; target: number; proposal: { current: number; replicas: number } }> };
}

const TARGET = 20;
const MIN = 1;
const MAX = 4;
const INTERVAL_MS = 1000;
const STABILIZE_DOWN_S = 5;


function demoConfig(balancerPort: number, scaling: Record<string, unknown>) {
  // Below the ephemeral range (32768 and up), where a client socket could hold a replica's port.
  const base = 20_000 + Math.floor(Math.random() * 120) * 100;
  return {
    agent: { scaler_interval: `${INTERVAL_MS}ms` },
    apps: [
      {
        name: "demo",
        command: "@self",
        args: ["demo-app"],
        replicas: { min: MIN, max: MAX },
        port: { range: [base, base + 99] },
        readiness: { kind: "port", timeout: "10s" },
        stop: { timeout: "2s" },
        scaling: { metrics: [{ name: "rps_per_replica", target: TARGET }], scale_down: { stabilization_window: `${STABILIZE_DOWN_S}s` }, metric_window: "1s", ...scaling },
      },
    ],
    balancers: [{ name: "web", listen: `127.0.0.1:${balancerPort}`, protocol: "http", backends: { app: "demo" }, algorithm: "round_robin" }],
  };
}

async function history(agent: RunningAgent): Promise<Summary[]> {
  const res = await agent.api("/v1/scaling/demo/history?limit=1000");
  expect(res.status).toBe(200);
  return ((await res.json()) as { decisions: Summary[] }).decisions;
}

/** On a failed wait: what the scaler and procs saw, to tell a slow machine from a wiring fault. */
async function explain(agent: RunningAgent, e: unknown): Promise<never> {
  const h = (await (await agent.api("/v1/scaling/demo/history?limit=20")).json()) as { decisions: Summary[]; latest: unknown };
  console.log(`history: ${JSON.stringify(h.decisions.map((d) => [d.at, d.action, d.current, d.desired, d.reason, d.dryRun]))}`);
  console.log(`latest: ${JSON.stringify(h.latest)}`);
  console.log(`apps: ${JSON.stringify(await (await agent.api("/v1/apps/demo")).json())}`);
  const web = (await (await agent.api("/v1/balancers/web")).json()) as { stats: { ratesPerSecond: { requests: number } }; endpoints: Array<{ id: string; health: string; source: string; stats: { ratesPerSecond: { requests: number } } }> };
  console.log(`listener problems: ${JSON.stringify(agent.lines.filter((l) => JSON.stringify(l).includes("listen-failed")))}`);
  console.log(`balancer: ${web.stats.ratesPerSecond.requests} req/s; ${JSON.stringify(web.endpoints.map((e) => [e.id, e.health, e.source, e.stats.ratesPerSecond.requests]))}`);
  throw e;
}

async function replicaCount(agent: RunningAgent): Promise<number> {
  const body = (await (await agent.api("/v1/apps/demo")).json()) as { replicas: Array<{ state: string }> };
  return body.replicas.filter((r) => r.state === "ready").length;
}

/** Sends `rps` requests per second through the balancer for `ms`, in 100 ms slices; returns the failures. */
async function load(url: string, rps: number, ms: number): Promise<number> {
  let failed = 0;
  const end = Date.now() + ms;
  const perSlice = Math.max(1, Math.round(rps / 10));
  while (Date.now() < end) {
    const slice = Date.now();
    const rs = await Promise.allSettled(Array.from({ length: perSlice }, () => fetch(url).then((r) => r.arrayBuffer().then(() => r.ok))));
    failed += rs.filter((r) => r.status === "rejected" || !r.value).length;
    await Bun.sleep(Math.max(0, 100 - (Date.now() - slice)));
  }
  return failed;
}

describe("autoscaling on request rate", () => {
  let agent: RunningAgent;
  let url: string;
  beforeAll(async () => {
    const port = freePort();
    agent = await startAgent({ config: demoConfig(port, {}) });
    url = `http://127.0.0.1:${port}/`;
    await waitFor(async () => (await replicaCount(agent)) === MIN, { what: "one ready replica" });
    await waitFor(async () => (await fetch(url)).ok, { what: "the balancer routes to the replica" });
  });
  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
  });

  test("load above the target scales up within min/max; it scales back down only after the stabilization window", async () => {
    // Ramp: below the target, then about 5× the target per replica for a few seconds.
    expect(await load(url, TARGET / 2, 1500)).toBe(0);
    const aboveFrom = Date.now();
    let failed = 0;
    const upDecision = await (async () => {
      const end = Date.now() + 8000;
      while (Date.now() < end) {
        failed += await load(url, 5 * TARGET, 1000);
        const up = (await history(agent)).find((d) => d.action === "scale-up");
        if (up) return up;
      }
      return undefined;
    })();
    expect(upDecision).toBeDefined();
    // Keep the load on until the new replicas are in rotation, then stop it.
    const grown = await waitFor(
      async () => {
        failed += await load(url, 5 * TARGET, 500);
        const n = await replicaCount(agent);
        return n > MIN ? n : undefined;
      },
      { timeoutMs: 15_000, what: "more than one ready replica" },
    );
    const loadStopped = Date.now();
    expect(failed).toBe(0);
    expect(grown).toBeLessThanOrEqual(MAX);
    console.log(`first scale-up ${upDecision!.at - aboveFrom} ms after the load crossed the target: ${upDecision!.reason}`);
    // The first scale-up comes from the request rate above its target while the load was on (its proposal may
    // exceed max, in which case the bounds rule has the last word).
    expect(["metric:rps_per_replica", "bounds"]).toContain(upDecision!.rule);
    const rps = upDecision!.decision.perMetric.find((m) => m.metric === "rps_per_replica")!;
    expect(rps.proposal.current).toBeGreaterThan(TARGET);
    expect(rps.proposal.replicas).toBeGreaterThan(MIN);
    expect(upDecision!.at).toBeGreaterThanOrEqual(aboveFrom);
    expect(upDecision!.at).toBeLessThanOrEqual(loadStopped);

    const down = await waitFor(async () => (await history(agent)).find((d) => d.action === "scale-down" && d.at > loadStopped), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: "a scale-down decision after the load stopped",
    }).catch((e) => explain(agent, e));
    // Not before the window: the highest recommendation of the last 5 s was still the loaded one.
    expect(down.at - loadStopped).toBeGreaterThanOrEqual(STABILIZE_DOWN_S * 1000 - 2 * INTERVAL_MS);
    await waitFor(async () => (await replicaCount(agent)) === MIN, { timeoutMs: 15_000, what: "back to the minimum" });

    // Every step is in the history, chained (each starts where the previous ended) and inside min/max.
    const steps = (await history(agent)).filter((d) => d.action !== "none" && !d.dryRun);
    expect(steps.length).toBeGreaterThanOrEqual(2);
    for (const [i, d] of steps.entries()) {
      expect(d.desired).toBeGreaterThanOrEqual(MIN);
      expect(d.desired).toBeLessThanOrEqual(MAX);
      if (i > 0) expect(d.current).toBe(steps[i - 1]!.desired);
    }
    expect(steps.at(-1)!.desired).toBe(MIN);
    if (process.env.DUMP) for (const d of (await history(agent))) console.log(JSON.stringify(d));
    console.log(`steps: ${steps.map((d) => `${d.current}->${d.desired} (${d.rule})`).join(", ")}`);
    // Each step was also published as an event (the agent logs every event).
    const events = agent.lines.filter((l) => l.event === "scale.decision" || l.type === "scale.decision");
    expect(events.length).toBeGreaterThanOrEqual(steps.length);
  }, 60_000);

  test("a policy with min > max, a zero target or an unknown metric is refused with 400 naming the field; the old policy stays", async () => {
    const before = (await (await agent.api("/v1/scaling")).json()) as { apps: Array<{ app: string; policy: unknown }> };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ min: 3, max: 2, metrics: [{ name: "rps_per_replica", target: 20 }] }, "min"],
      [{ metrics: [{ name: "rps_per_replica", target: 0 }] }, "metrics[0].target"],
      [{ metrics: [{ name: "bogus", target: 5 }] }, "metrics[0].name"],
    ];
    for (const [body, field] of cases) {
      const res = await agent.api("/v1/scaling/demo/policy", { method: "PUT", body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      const err = (await res.json()) as { code: string; message: string; details: { problems: Array<{ field: string }> } };
      expect(err.message).toContain(field);
      expect(err.details.problems.some((p) => p.field.startsWith(field))).toBe(true);
    }
    const after = (await (await agent.api("/v1/scaling")).json()) as typeof before;
    expect(after).toEqual(before);
  });

  test("simulate returns the decisions a given series would produce", async () => {
    const t0 = 1_000_000;
    const series = Array.from({ length: 20 }, (_, i) => ({ at: t0 + i * 1000, totals: { rps_per_replica: i < 5 ? 10 : 200 } }));
    const res = await agent.api("/v1/scaling/demo/simulate", { method: "POST", body: JSON.stringify({ series, initial_replicas: 1 }) });
    expect(res.status).toBe(200);
    const { decisions } = (await res.json()) as { decisions: Summary[] };
    expect(decisions.length).toBeGreaterThan(0);
    const up = decisions.find((d) => d.action === "scale-up");
    expect(up).toBeDefined();
    expect(up!.at).toBeGreaterThanOrEqual(t0 + 5000);
    expect(decisions.every((d) => d.desired >= MIN && d.desired <= MAX)).toBe(true);
    // A malformed series is refused, naming the point.
    const bad = await agent.api("/v1/scaling/demo/simulate", { method: "POST", body: JSON.stringify({ series: [series[1], series[0]] }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain("series[1].at");
  });
});

describe("dry run", () => {
  test("dry_run records scale decisions without changing the replica count", async () => {
    const port = freePort();
    await using agent = await startAgent({ config: demoConfig(port, { dry_run: true }) });
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(async () => (await replicaCount(agent)) === MIN, { what: "one ready replica" }).catch((e) => explain(agent, e));
    await waitFor(async () => (await fetch(url)).ok, { what: "the balancer routes to the replica" });
    const recorded = await waitFor(
      async () => {
        await load(url, 5 * TARGET, 1000);
        return (await history(agent)).find((d) => d.action === "scale-up");
      },
      { timeoutMs: 12_000, what: "a dry-run scale-up decision" },
    ).catch((e) => explain(agent, e));
    expect(recorded.dryRun).toBe(true);
    expect(recorded.desired).toBeGreaterThan(MIN);
    const apps = (await (await agent.api("/v1/apps/demo")).json()) as { replicas: unknown[] };
    expect(apps.replicas.length).toBe(MIN);
    expect(await replicaCount(agent)).toBe(MIN);
  }, 30_000);
});
