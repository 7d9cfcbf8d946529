// The incremental tick (only pairs whose inputs changed, newly selected or pending) against the full pass over every
// (policy, rule, target), on seeded random runs: metrics that change now and then, labels that move targets between
// selectors, targets that come and go, windows, `for`, cooldown, time windows, health, CEL. Both must fire and resolve
// the same rules on the same targets with the same dispositions, tick after tick.
import { describe, expect, test } from "bun:test";
import { createEngineState, record, setPolicies, type TickResult, tick } from "../../../../src/core/policy/engine.ts";
import { planRule } from "../../../../src/core/policy/reads.ts";
import type { Policy, Snapshot, TargetView } from "../../../../src/core/policy/types.ts";
import { validatePolicy } from "../../../../src/core/policy/validate.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

const policy = (doc: Record<string, unknown>): Policy => {
  const r = validatePolicy({ apiVersion: "polis/v1", kind: "Policy", ...doc }, "test");
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
};

const CONDITIONS: unknown[] = [
  { metric: { name: "error_ratio" }, op: ">", value: 0.5 },
  { metric: { name: "error_ratio", window: "5s", agg: "avg" }, op: ">", value: 0.4 },
  { metric: { name: "cpu", window: "10s", agg: "max" }, op: ">=", value: 80 },
  { metric: { name: "rps", window: "5s", agg: "rate" }, op: ">", value: 0.5 },
  { metric: { name: "cpu", window: "4s", agg: "sum" }, op: ">", value: 200 },
  { metric: { name: "cpu", of: "app" }, op: ">", value: 100 },
  { metric: { name: "load1", of: "host" }, op: ">", value: 1 },
  { label: { key: "zone", op: "eq", value: "a" } },
  { health: { status: "critical" } },
  { time: { weekdays: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], from: "00:00", to: "00:01", timezone: "UTC" } },
  { cel: "metrics['cpu'] > 50.0 && replica.ready" },
  { cel: "'rps' in metrics && metrics['rps'] > 3.0" },
  { cel: "replica.age > duration('30s')" },
];

function randomPolicies(rng: { next(): number }, n: number): Policy[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng.next() * xs.length)]!;
  const out: Policy[] = [];
  for (let i = 0; i < n; i++) {
    const selector = pick([{ kinds: ["replica"] }, { kinds: ["replica"], matchLabels: { zone: "a" } }, { kinds: ["app", "replica"] }, { kinds: ["app"] }]);
    const replicaOnly = selector.kinds.length === 1 && selector.kinds[0] === "replica";
    const rules = [0, 1].map((j) => {
      const a = pick(CONDITIONS);
      const b = pick(CONDITIONS);
      const when = rng.next() < 0.3 ? a : rng.next() < 0.5 ? { all: [a, b] } : { any: [a, { not: b }] };
      return { name: `r${j}`, when, for: pick(["0s", "2s", "3s"]), cooldown: pick(["0s", "4s"]), actions: [pick(replicaOnly ? [{ type: "restart" }, { type: "alert", summary: "x" }, { type: "scale", by: 1 }, { type: "drain" }] : [{ type: "alert", summary: "x" }, { type: "scale", by: 1 }])] };
    });
    out.push(policy({ metadata: { name: `p${i}` }, spec: { selector, priority: Math.floor(rng.next() * 3), rules } }));
  }
  return out;
}

const summary = (r: TickResult) => ({
  firings: r.firings.map((f) => `${f.policy}/${f.rule}@${f.target}#${f.firing} ${f.actions.map((a) => a.disposition).join(",")} ${JSON.stringify(f.leaves)}`).sort(),
  resolved: r.resolved.map((x) => `${x.policy}/${x.rule}@${x.target}#${x.firing}`).sort(),
  firing: [...r.firingByPolicy].filter(([, n]) => n > 0).sort(),
});

describe("incremental evaluation", () => {
  for (const seed of [1, 2, 3, 4]) {
    test(`seed ${seed}: 80 ticks of changing inputs give the same firings as the full pass`, () => {
      const rng = createSeededRng(seed);
      const policies = randomPolicies(rng, 12);
      const full = createEngineState(1000);
      const inc = createEngineState(1000);
      setPolicies(full, policies);
      setPolicies(inc, policies);
      const metrics = new Map<string, Record<string, number>>();
      const zones = new Map<string, string>();
      let present = new Set([0, 1, 2, 3, 4, 5, 6, 7]);
      let load1 = 0.5;
      let fired = 0;
      const start = Date.UTC(2026, 0, 5, 23, 59, 50);
      for (let k = 0; k < 80; k++) {
        const now = start + k * 1000;
        if (rng.next() < 0.1) present = new Set([...present].filter(() => rng.next() > 0.1).concat([Math.floor(rng.next() * 10)]));
        if (rng.next() < 0.2) load1 = rng.next() * 2;
        const targets: TargetView[] = [];
        let appCpu = 0;
        for (const i of [...present].sort()) {
          const id = `web-${i}`;
          let m = metrics.get(id) ?? { error_ratio: 0, cpu: 10, rps: 0, ready: 1, replicas: 3 };
          // Most ticks change nothing; some change one input.
          if (rng.next() < 0.25) m = { ...m, error_ratio: rng.next() < 0.5 ? 0 : rng.next() };
          if (rng.next() < 0.2) m = { ...m, cpu: Math.round(rng.next() * 100) };
          if (rng.next() < 0.2) m = { ...m, rps: m.rps! + Math.round(rng.next() * 5) };
          if (rng.next() < 0.05) m = { ...m, ready: 1 - m.ready! };
          metrics.set(id, m);
          if (rng.next() < 0.05 || !zones.has(id)) zones.set(id, rng.next() < 0.5 ? "a" : "b");
          appCpu += m.cpu!;
          const critical = m.error_ratio! > 0.8;
          targets.push({
            kind: "replica", id, key: `replica:${id}`, app: "web", replica: i, labels: { app: "web", zone: zones.get(id)! }, metrics: m,
            health: critical ? "critical" : "passing", healthOf: [critical ? "critical" : "passing"], ageMs: k * 1000, deploymentInProgress: false,
          });
        }
        targets.push({ kind: "app", id: "web", key: "app:web", app: "web", labels: { app: "web" }, metrics: { cpu: appCpu, replicas: 3, ready: present.size }, health: "passing", healthOf: ["passing"], ageMs: 0, deploymentInProgress: false });
        const snap: Snapshot = { now, targets, host: { load1 } };
        record(full, snap);
        record(inc, snap);
        const a = summary(tick(full, snap, { full: true }));
        const b = summary(tick(inc, snap));
        expect({ k, ...b }).toEqual({ k, ...a });
        fired += a.firings.length;
      }
      // Contrast: the run is not vacuous.
      expect(fired).toBeGreaterThan(5);
    });
  }

  test("what a rule reads: named metrics with their window, CEL's literal keys, the clock makes it volatile", () => {
    const plan = (when: unknown) => planRule(policy({ metadata: { name: "x" }, spec: { rules: [{ name: "r", when, actions: [{ type: "alert", summary: "s" }] }] } }).rules[0]!.when);
    expect(plan({ metric: { name: "error_ratio", window: "1m", agg: "avg" }, op: ">", value: 1 }).reads).toEqual([{ owner: "app", input: "error_ratio", windowMs: 60_000 }]);
    expect(plan({ cel: "metrics['cpu'] > 95.0" }).reads.map((r) => r.input)).toContain("cpu");
    expect(plan({ cel: "metrics['cpu'] > 95.0" }).reads.map((r) => r.input)).not.toContain("*");
    expect(plan({ cel: "size(metrics) > 2" }).reads.map((r) => r.input)).toContain("*");
    expect(plan({ cel: "replica.age > duration('2m')" }).volatile).toBe(true);
    expect(plan({ metric: { name: "cpu", window: "1m", agg: "sum" }, op: ">", value: 1 }).volatile).toBe(true);
    expect(plan({ metric: { name: "cpu", window: "1m", agg: "max" }, op: ">", value: 1 }).volatile).toBe(false);
  });
});
