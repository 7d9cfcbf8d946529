// Benchmark: cost of one alert evaluation (a source reporting 10,000 active alerts, then the tick that recomputes
// groups) per second of agent time (goal < 2 ms), and of raising a new alert among them.
// Usage: bun scripts/bench/alerts.ts [--alerts N]
import { createEngineState, decide } from "../../src/core/alerts/engine.ts";
import { parseMatcher } from "../../src/core/alerts/matchers.ts";
import type { AlertInput } from "../../src/core/alerts/types.ts";
import { type AlertChanges, createSources } from "../../src/alerts/sources.ts";
import type { AlertsConfig } from "../../src/config/alerts-schema.ts";

const GOAL_MS = 2;
const args = process.argv.slice(2);
const n = args.includes("--alerts") ? Number(args[args.indexOf("--alerts") + 1]) : 10_000;
const ROUNDS = 100;

const state = createEngineState({
  routes: [
    { receiver: "oncall", matchers: [parseMatcher("severity=critical")], groupBy: ["alertname", "app"], groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000, sendResolved: true },
    { receiver: "chat", matchers: [parseMatcher("app=~app-1.*")], groupBy: ["alertname"], groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000, sendResolved: true },
  ],
  inhibit: [{ source: [parseMatcher("severity=critical")], target: [parseMatcher("severity=warning")], equal: ["app"] }],
  keepResolved: 5000,
});
const inputs = (round: number): AlertInput[] =>
  Array.from({ length: n }, (_, i) => ({ name: "CheckCritical", severity: i % 10 === 0 ? "warning" : "critical", labels: { check: `check-${i}`, app: `app-${i % 200}` }, annotations: { summary: `check-${i} has been critical` }, source: "check_critical", value: round }));

// The agent's own check_critical source over 10,000 critical checks (the records the health link holds), each
// second reporting what changed (CHURN checks recover and CHURN others turn critical) and then the tick. Each round
// is measured in wall time and in this thread's CPU time (the machine may be shared: CPU time is what to compare).
const CHURN = 10;
const checks = Array.from({ length: n }, (_, i) => ({ id: `check-${i}`, status: "critical" as "critical" | "passing", since: -60_000, output: "connect: connection refused", app: `app-${i % 200}` }));
const cfg = { sources: { check_critical: { enabled: true, for: 30_000, severity: "critical" } } } as unknown as AlertsConfig;
const { sources, close } = createSources({ checks: () => checks, scaling: () => [], balancers: () => [], certificates: () => [], dataDir: () => ":memory:", subscribe: () => () => {} });
const checkSource = sources.find((x) => x.name === "check_critical")!;
const report = (t: number, full: boolean) => {
  const seen = checkSource.observe(cfg, t, full) as AlertInput[] | AlertChanges;
  if (Array.isArray(seen)) decide(state, { type: "observe", source: "check_critical", inputs: seen }, t);
  else if (seen.firing.length > 0 || seen.cleared.length > 0) decide(state, { type: "changes", source: "check_critical", firing: seen.firing, cleared: seen.cleared }, t);
  decide(state, { type: "tick" }, t);
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

let t = 0;
report(t, true);
const samples: number[] = [];
const cpu: number[] = [];
for (let r = 1; r <= ROUNDS; r++) {
  t += 1000;
  for (let j = 0; j < CHURN; j++) {
    // CHURN checks recover; the ones that recovered a second ago are critical again.
    checks[(r * CHURN + j) % n]!.status = "passing";
    checks[((r - 1) * CHURN + j) % n]!.status = "critical";
  }
  const c0 = cpuMs();
  const started = performance.now();
  report(t, false);
  samples.push(performance.now() - started);
  cpu.push(cpuMs() - c0);
}
// For comparison: a level-triggered source re-reporting every active alert (building its inputs included).
const level: number[] = [];
const levelCpu: number[] = [];
for (let r = 1; r <= ROUNDS / 2; r++) {
  t += 1000;
  const c0 = cpuMs();
  const started = performance.now();
  decide(state, { type: "observe", source: "check_critical", inputs: inputs(r).slice(0, state.bySource.get("check_critical")!.size) }, t);
  decide(state, { type: "tick" }, t);
  level.push(performance.now() - started);
  levelCpu.push(cpuMs() - c0);
}
close();
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95of = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
const median = med(samples);
const p95 = p95of(samples);
const raise: number[] = [];
for (let i = 0; i < 200; i++) {
  const s = performance.now();
  decide(state, { type: "raise", input: { name: "Manual", severity: "critical", labels: { k: String(i), app: "app-1" }, annotations: {}, source: "api" } }, t + i);
  raise.push(performance.now() - s);
}
raise.sort((a, b) => a - b);
console.log(`alert evaluation with ${state.active.size} active alerts (${state.groups.byKey.size} groups), check_critical reporting changes (${CHURN} recover, ${CHURN} turn critical per second), then the tick: median ${median.toFixed(3)} ms wall, ${med(cpu).toFixed(3)} ms CPU, p95 ${p95.toFixed(3)} ms wall per second of agent time (goal < ${GOAL_MS} ms) ${median < GOAL_MS ? "ok" : "OVER GOAL"}`);
console.log(`for comparison, a level-triggered source re-reporting all of them: median ${med(level).toFixed(2)} ms wall, ${med(levelCpu).toFixed(2)} ms CPU, p95 ${p95of(level).toFixed(2)} ms`);
console.log(`raise of a new alert among them (inhibition recomputed): median ${raise[100]!.toFixed(3)} ms, p99 ${raise[198]!.toFixed(3)} ms`);
