import { describe, expect, test } from "bun:test";
import { createEngineState, record, setPolicies, tick } from "../../../../src/core/policy/engine.ts";
import type { Policy, Snapshot, TargetView } from "../../../../src/core/policy/types.ts";
import { validatePolicy } from "../../../../src/core/policy/validate.ts";

const policy = (doc: Record<string, unknown>): Policy => {
  const r = validatePolicy({ apiVersion: "polis/v1", kind: "Policy", ...doc }, "test");
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
};
const replica = (id: number, metrics: Record<string, number>, extra: Partial<TargetView> = {}): TargetView => withKey({
  kind: "replica", id: `web-${id}`, app: "web", replica: id, labels: { app: "web", replica: String(id) }, metrics: { ready: 1, replicas: 2, ...metrics },
  health: "passing", healthOf: ["passing"], ageMs: 600_000, deploymentInProgress: false, ...extra,
});
function withKey(t: Omit<TargetView, "key"> & { key?: string }): TargetView {
  return { ...t, key: `${t.kind}:${t.id}` };
}
const app = (metrics: Record<string, number>): TargetView => ({
  kind: "app", id: "web", key: "app:web", app: "web", labels: { app: "web" }, metrics: { ready: 2, replicas: 2, ...metrics }, health: "passing", healthOf: ["passing"], ageMs: 0, deploymentInProgress: false,
});
const errorPolicy = (extra: Record<string, unknown> = {}, rule: Record<string, unknown> = {}) =>
  policy({
    metadata: { name: "errors" },
    spec: {
      selector: { kinds: ["replica"] },
      ...extra,
      rules: [{ name: "restart-bad", when: { metric: { name: "error_ratio" }, op: ">", value: 0.05 }, for: "3s", cooldown: "10s", actions: [{ type: "restart" }], ...rule }],
    },
  });

function run(p: Policy[], frames: Array<[number, TargetView[]]>) {
  const s = createEngineState(1000);
  setPolicies(s, p);
  return frames.map(([now, targets]) => {
    const snap: Snapshot = { now, targets, host: {} };
    record(s, snap);
    return tick(s, snap);
  });
}

describe("policy engine", () => {
  test("a rule fires only after its condition held for `for`, once per firing, and again only after the cooldown", () => {
    const bad = [replica(1, { error_ratio: 0.5 })];
    const good = [replica(1, { error_ratio: 0 })];
    const frames: Array<[number, TargetView[]]> = [[0, bad], [1000, bad], [2000, bad], [3000, bad], [4000, bad], [5000, good], [6000, bad], [9000, bad], [12000, bad], [13000, bad]];
    const r = run([errorPolicy()], frames);
    // pending at 0; held 3 s at 3000 -> fires; still firing at 4000 -> no repeat; resolves at 5000;
    // holds again from 6000, held 3 s at 9000 but the cooldown (10 s from 3000) ends at 13000.
    expect(r.map((x) => x.firings.length)).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    expect(r[3]!.firings[0]!.firing).toBe(1);
    expect(r[9]!.firings[0]!.firing).toBe(2);
    expect(r[5]!.resolved).toEqual([{ policy: "default/errors", rule: "restart-bad", target: "web-1", firing: 1 }]);
  });

  test("a condition that stops holding during `for` does NOT fire", () => {
    const r = run([errorPolicy()], [[0, [replica(1, { error_ratio: 1 })]], [2000, [replica(1, { error_ratio: 0 })]], [3000, [replica(1, { error_ratio: 1 })]], [5000, [replica(1, { error_ratio: 1 })]]]);
    expect(r.flatMap((x) => x.firings)).toEqual([]);
  });

  test("dry_run fires the same way with every action marked dry_run", () => {
    const r = run([errorPolicy({ mode: "dry_run" }, { for: "0s" })], [[0, [replica(1, { error_ratio: 1 })]]]);
    expect(r[0]!.firings[0]!.actions.map((a) => a.disposition)).toEqual(["dry_run"]);
  });

  test("a windowed average reads the kept samples", () => {
    const p = errorPolicy({}, { for: "0s", cooldown: "0s", when: { metric: { name: "error_ratio", window: "3s", agg: "avg" }, op: ">", value: 0.5 } });
    const r = run([p], [[0, [replica(1, { error_ratio: 1 })]], [1000, [replica(1, { error_ratio: 0 })]], [2000, [replica(1, { error_ratio: 0 })]], [3000, [replica(1, { error_ratio: 1 })]], [4000, [replica(1, { error_ratio: 1 })]]]);
    // avg over the last 3 s: 1, 0.5, 0.33, 0.33, 0.67
    expect(r.map((x) => x.firings.length)).toEqual([1, 0, 0, 0, 1]);
  });

  test("conflicting actions on one target: the higher priority wins; on a tie the more conservative one", () => {
    const mk = (name: string, priority: number, action: Record<string, unknown>) =>
      policy({ metadata: { name }, spec: { priority, selector: { kinds: ["app"] }, rules: [{ name: "r", when: { metric: { name: "rps" }, op: ">=", value: 0 }, actions: [action] }] } });
    const [byPrio] = run([mk("low", 1, { type: "scale", to: 5 }), mk("high", 9, { type: "scale", to: 1 })], [[0, [app({ rps: 1 })]]]);
    const d = Object.fromEntries(byPrio!.firings.map((f) => [f.policy, f.actions[0]!]));
    expect(d["default/high"]!.disposition).toBe("execute");
    expect(d["default/low"]!.disposition).toBe("overridden_by_priority");
    const [tie] = run([mk("down", 1, { type: "scale", to: 1 }), mk("up", 1, { type: "scale", to: 4 })], [[0, [app({ rps: 1 })]]]);
    const t = Object.fromEntries(tie!.firings.map((f) => [f.policy, f.actions[0]!.disposition]));
    expect(t).toEqual({ "default/up": "execute", "default/down": "overridden_by_more_conservative" });
    const [mixed] = run([mk("restart", 1, { type: "restart", target: "app" }), mk("back", 1, { type: "rollback" })], [[0, [app({ rps: 1 })]]]);
    expect(Object.fromEntries(mixed!.firings.map((f) => [f.policy, f.actions[0]!.disposition]))).toEqual({ "default/restart": "execute", "default/back": "overridden_by_more_conservative" });
  });

  test("alerts never conflict with each other", () => {
    const mk = (name: string) => policy({ metadata: { name }, spec: { rules: [{ name: "r", when: { metric: { name: "rps" }, op: ">=", value: 0 }, actions: [{ type: "alert", summary: "x" }] }] } });
    const [r] = run([mk("a"), mk("b")], [[0, [app({ rps: 1 })]]]);
    expect(r!.firings.map((f) => f.actions[0]!.disposition)).toEqual(["execute", "execute"]);
  });

  test("label, time and CEL conditions, nested with all/any/not", () => {
    const p = policy({
      metadata: { name: "mix" },
      spec: {
        selector: { kinds: ["replica"], matchLabels: { app: "web" } },
        rules: [{
          name: "r",
          when: { all: [
            { label: { key: "replica", op: "in", values: ["1", "2"] } },
            { time: { weekdays: ["tue"], from: "09:00", to: "17:00", timezone: "UTC" } },
            { not: { cel: "deployment.in_progress" } },
            { any: [{ cel: "replica.age > duration('2m') && metrics['error_ratio'] > 0.1" }, { health: { status: "critical" } }] },
          ] },
          actions: [{ type: "alert", summary: "{{ .target.id }} at {{ .value }}" }],
        }],
      },
    });
    const tue10 = Date.parse("2026-12-01T10:00:00Z");
    const targets = [replica(1, { error_ratio: 0.5 }), replica(2, { error_ratio: 0.5 }, { ageMs: 1000 }), replica(3, { error_ratio: 0.5 }), replica(2, { error_ratio: 0 }, { id: "web-2b", health: "critical", healthOf: ["critical"] })];
    const [r] = run([p], [[tue10, targets]]);
    expect(r!.firings.map((f) => f.target)).toEqual(["web-1", "web-2b"]);
    const [evening] = run([p], [[Date.parse("2026-12-01T18:00:00Z"), targets]]);
    expect(evening!.firings).toEqual([]);
  });

  test("a CEL expression that fails at run time counts as false and is reported, not thrown", () => {
    const p = policy({ metadata: { name: "cel" }, spec: { selector: { kinds: ["replica"] }, rules: [{ name: "r", when: { cel: "metrics['no_such_metric'] > 1.0" }, actions: [{ type: "alert", summary: "x" }] }] } });
    const [r] = run([p], [[0, [replica(1, {})]]]);
    expect(r!.firings).toEqual([]);
    expect(r!.celErrors[0]!.target).toBe("web-1");
  });
});

describe("policy validation", () => {
  const problems = (doc: unknown) => {
    const r = validatePolicy(doc, "f.yaml");
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
  };
  const base = { apiVersion: "polis/v1", kind: "Policy", metadata: { name: "p" } };
  test.each([
    [{ ...base, spec: { rules: [{ name: "r", when: { metric: { name: "nope" }, op: ">", value: 1 }, actions: [{ type: "alert", summary: "x" }] }] } }, 'spec.rules[0].when.metric.name: unknown metric "nope"'],
    [{ ...base, spec: { rules: [{ name: "r", when: { cel: "replica.nope > 1" }, actions: [{ type: "alert", summary: "x" }] }] } }, "spec.rules[0].when.cel: CEL: No such key: nope"],
    [{ ...base, spec: { rules: [{ name: "r", when: { cel: "1 + 2" }, actions: [{ type: "alert", summary: "x" }] }] } }, "spec.rules[0].when.cel: CEL: expression is of type int; a condition must be bool"],
    [{ ...base, spec: { rules: [{ name: "r", when: { metric: { name: "rps" }, op: ">", value: 1 }, actions: [{ type: "explode" }] }] } }, 'spec.rules[0].actions[0].type: "explode" is not one of'],
    [{ ...base, spec: { rules: [{ name: "r", when: { metric: { name: "rps" }, op: ">", value: 1 }, actions: [{ type: "alert", summary: "{{ .secret }}" }] }] } }, 'spec.rules[0].actions[0].summary: template names unknown field ".secret"'],
    [{ ...base, spec: { rules: [{ name: "r", when: { metric: { name: "rps" }, op: ">", value: 1 }, actions: [{ type: "restart", target: "replica" }] }] } }, "spec.rules[0].actions[0].type: action \"restart\" acts on a replica, but the selector picks app"],
    [{ ...base, spec: { rules: [{ name: "r", when: { metric: { name: "rps" }, op: ">", value: 1 }, bogus: 1, actions: [{ type: "alert", summary: "x" }] }] } }, 'spec.rules[0].bogus: unknown field "bogus"'],
  ])("%# refused with its path", (doc, expected) => {
    expect(problems(doc).some((p) => p.startsWith(expected))).toBe(true);
  });
  test("every problem of a document is reported, not just the first", () => {
    expect(problems({ apiVersion: "v0", kind: "Policy", metadata: {}, spec: { rules: [] } }).length).toBeGreaterThanOrEqual(3);
  });
});
