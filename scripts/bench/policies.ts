// Policy engine: one evaluation tick of 1,000 policies x 3 rules over 1,000 targets (goal < 5 ms), and one compiled
// CEL condition (goal <= 10 us). Bounded in time: a fixed number of ticks and evaluations.
import { compileCel, celContext } from "../../src/core/policy/cel.ts";
import { createEngineState, record, setPolicies, tick } from "../../src/core/policy/engine.ts";
import type { Policy, Snapshot, TargetView } from "../../src/core/policy/types.ts";
import { validatePolicy } from "../../src/core/policy/validate.ts";

const APPS = 10;
const TARGETS = 1000;
const POLICIES = 1000;

const targets: TargetView[] = [];
for (let i = 0; i < TARGETS; i++) {
  const app = `app${i % APPS}`;
  targets.push({
    kind: "replica", id: `${app}-${i}`, key: `replica:${app}-${i}`, app, replica: i, labels: { app, replica: String(i) },
    metrics: { error_ratio: (i % 100) / 1000, rps: i % 50, cpu: i % 90, ready: 1, replicas: 100, latency_p95: 20 + (i % 30) },
    health: "passing", healthOf: ["passing"], ageMs: 600_000, deploymentInProgress: false,
  });
}
const policies: Policy[] = [];
for (let p = 0; p < POLICIES; p++) {
  // Each policy selects one app's 100 replicas (as a real policy set would select by label), with three rules.
  const r = validatePolicy({
    apiVersion: "polis/v1", kind: "Policy", metadata: { name: `p${p}` },
    spec: {
      selector: { kinds: ["replica"], matchLabels: { app: `app${p % APPS}` } },
      priority: p % 7,
      rules: [
        { name: "errors", when: { metric: { name: "error_ratio", window: "1m", agg: "avg" }, op: ">", value: 0.5 }, for: "30s", actions: [{ type: "restart" }] },
        { name: "latency", when: { all: [{ metric: { name: "latency_p95" }, op: ">", value: 500 }, { label: { key: "replica", op: "exists" } }] }, actions: [{ type: "alert", summary: "slow" }] },
        { name: "cel", when: { cel: "metrics['cpu'] > 95.0 && replica.ready" }, actions: [{ type: "alert", summary: "hot" }] },
      ],
    },
  }, "bench");
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  policies.push(r.policy);
}

/**
 * One scenario: 40 ticks (the first 10 warm the series), `change` of the targets get new metric values each tick.
 * full: every (policy, rule, selected target) is evaluated each tick (the engine before incremental evaluation).
 */
function scenario(change: number, full: boolean) {
  const state = createEngineState(1000);
  setPolicies(state, policies);
  const times: number[] = [];
  let cur = targets;
  for (let t = 0; t < 40; t++) {
    if (change > 0) {
      const every = Math.max(1, Math.round(1 / change));
      cur = cur.map((x, i) => ((i + t) % every === 0 ? { ...x, metrics: { ...x.metrics, cpu: (x.metrics.cpu! + 7) % 90, error_ratio: ((t * 7 + i) % 100) / 1000, latency_p95: 20 + ((i + t) % 30) } } : x));
    }
    const snap: Snapshot = { now: t * 1000, targets: cur, host: {} };
    const t0 = performance.now();
    record(state, snap);
    tick(state, snap, full ? { full: true } : {});
    times.push(performance.now() - t0);
  }
  const steady = times.slice(10).sort((a, b) => a - b);
  const q = (x: number) => steady[Math.min(steady.length - 1, Math.floor(x * steady.length))]!;
  return { median: q(0.5), p95: q(0.95) };
}
const evals = POLICIES * 3 * (TARGETS / APPS);
console.log(`tick: ${POLICIES} policies x 3 rules, ${TARGETS} targets (${evals.toLocaleString()} rule-target pairs), goal < 5 ms`);
for (const [label, change] of [["no input changes", 0], ["1% of targets change each tick", 0.01], ["10% of targets change each tick", 0.1], ["every target changes each tick", 1]] as const) {
  const inc = scenario(change, false);
  const full = change === 0 || change === 1 ? scenario(change, true) : undefined;
  console.log(`  ${label}: incremental median ${inc.median.toFixed(2)} ms, p95 ${inc.p95.toFixed(2)} ms${full ? `; full pass median ${full.median.toFixed(1)} ms, p95 ${full.p95.toFixed(1)} ms` : ""}`);
}

const c = compileCel("replica.age > duration('2m') && metrics['error_ratio'] > 0.05 && !deployment.in_progress");
if (!c.ok) throw new Error(c.message);
const ctx = celContext(targets[0]!, { now: 0, targets, host: {} });
const N = 200_000;
for (let i = 0; i < 10_000; i++) c.fn(ctx);
const t0 = performance.now();
for (let i = 0; i < N; i++) c.fn(ctx);
const us = ((performance.now() - t0) * 1000) / N;
const t1 = performance.now();
for (let i = 0; i < 2000; i++) celContext(targets[i % TARGETS]!, { now: 0, targets, host: {} });
const ctxUs = ((performance.now() - t1) * 1000) / 2000;
console.log(`compiled CEL condition (3 terms): ${us.toFixed(2)} us an evaluation (goal <= 10 us); building a target's CEL context: ${ctxUs.toFixed(2)} us`);
const t2 = performance.now();
for (let i = 0; i < 200; i++) compileCel(`metrics['cpu'] > ${i}.0 && replica.ready`);
console.log(`compiling (parse + type-check) one expression: ${(((performance.now() - t2) * 1000) / 200).toFixed(0)} us (done once, when a policy is loaded)`);
