// The policy engine: one tick over a snapshot of the targets. Per (policy, rule, target) it keeps Prometheus-style
// state (inactive -> pending -> firing), fires the rule's actions once per firing (idempotent), honours `for` and
// cooldown, and resolves conflicting actions on one target in one tick by priority, then by the more conservative
// action. dry_run policies produce the same firings with every action marked dry_run (the runner does nothing).
//
//   inactive --holds--> pending --held for `for` (and cooldown over)--> firing --stops holding--> inactive
//
// A tick evaluates only what may have changed (reads.ts): per selector, the targets whose inputs a rule reads changed
// (within its window), the targets newly selected, and the pairs pending on `for` or cooldown. Every other pair keeps
// its value: the same inputs give the same answer. `tick(..., {full: true})`, the what-if and `only` evaluate every
// pair (the property test holds both to the same firings).
import { compileCel, type CompiledCel } from "./cel.ts";
import { type EvalContext, evaluate, inWindow, type LeafValue } from "./conditions.ts";
import { planRule, type RulePlan } from "./reads.ts";
import { createSeries, type Series } from "./series.ts";
import { type Action, labelPairs, type Policy, policyKey, type Rule, type Snapshot, type TargetView } from "./types.ts";

export const Reason = {
  Fired: "fired",
  DryRun: "dry_run",
  Overridden: "overridden_by_priority",
  MoreConservative: "overridden_by_more_conservative",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

interface RuleState {
  pendingSince?: number;
  firing: boolean;
  /** Numbered per (rule, target): the idempotency key of the actions is (policy, rule, target, firing). */
  firings: number;
  lastFiredAt?: number;
  seen: number;
}

export interface EngineState {
  policies: Policy[];
  /** Per `<policy>|<rule>`, per target key. */
  readonly rules: Map<string, Map<string, RuleState>>;
  /** Each policy's matchLabels as pairs. */
  selectors: Map<Policy, ReadonlyArray<readonly [string, string]>>;
  series: Series;
  cel: Map<string, CompiledCel>;
  intervalMs: number;
  readonly inc: Incremental;
}

interface Group {
  readonly policy0: Policy;
  readonly pairs: ReadonlyArray<readonly [string, string]>;
  members: Set<string>;
  /** Selected since the previous tick: evaluated for every rule once. */
  added: Set<string>;
}

/** What the incremental tick keeps between ticks. */
interface Incremental {
  plans: Map<Rule, RulePlan>;
  groups: Map<string, Group>;
  groupOf: Map<Policy, Group>;
  prev: Map<string, TargetView>;
  prevHost: Readonly<Record<string, number>>;
  /** owner -> input -> when it last changed; "*" holds the latest of any input. */
  changed: Map<string, Map<string, number>>;
  lastNow: number;
  /** Group membership must be computed again (policies or the target set or some labels changed). */
  regroup: boolean;
  /** Pairs pending on `for` or cooldown, per `<policy>|<rule>`. */
  pending: Map<string, Set<string>>;
  /** Rule-target pairs firing, per policy key. */
  firing: Map<string, number>;
}

export interface PlannedAction {
  readonly action: Action;
  /** Where it acts: the app, or the replica (`<app>-<n>`). */
  readonly target: TargetView;
  /** "executed by the runner", "dry_run", or why it was dropped in conflict resolution. */
  readonly disposition: "execute" | Reason;
  readonly overriddenBy?: string;
}

export interface Firing {
  readonly policy: string;
  readonly rule: string;
  readonly target: string;
  readonly firing: number;
  readonly mode: Policy["mode"];
  readonly priority: number;
  readonly leaves: readonly LeafValue[];
  /** The first metric leaf's value ({{ .value }} in templates). */
  readonly value: number | null;
  readonly actions: PlannedAction[];
}

export interface TickResult {
  readonly firings: Firing[];
  /** Rules that stopped holding on a target this tick. */
  readonly resolved: Array<{ policy: string; rule: string; target: string; firing: number }>;
  readonly celErrors: Array<{ source: string; target: string; error: string }>;
  /** Rule-target pairs currently firing, per policy key. */
  readonly firingByPolicy: Map<string, number>;
}

export function createEngineState(intervalMs: number): EngineState {
  return {
    policies: [], rules: new Map(), selectors: new Map(), series: createSeries(1), cel: new Map(), intervalMs,
    inc: { plans: new Map(), groups: new Map(), groupOf: new Map(), prev: new Map(), prevHost: {}, changed: new Map(), lastNow: -Infinity, regroup: true, pending: new Map(), firing: new Map() },
  };
}

/** Installs a validated policy set (sorted by priority); keeps the state of rules that still exist. */
export function setPolicies(state: EngineState, policies: readonly Policy[], opts: { resize?: boolean } = {}): void {
  state.policies = [...policies].sort((a, b) => b.priority - a.priority || policyKey(a).localeCompare(policyKey(b)));
  const cel = new Map<string, CompiledCel>();
  let maxWindow = 0;
  const walk = (c: Rule["when"]) => {
    if (c.kind === "all" || c.kind === "any") c.of.forEach(walk);
    else if (c.kind === "not") walk(c.of);
    else if (c.kind === "cel" && !cel.has(c.source)) {
      const r = compileCel(c.source);
      if (r.ok) cel.set(c.source, r.fn);
    } else if (c.kind === "metric") maxWindow = Math.max(maxWindow, c.windowMs);
  };
  for (const p of state.policies) for (const r of p.rules) walk(r.when);
  state.cel = cel;
  if (opts.resize !== false) state.series.setCapacity(Math.ceil(maxWindow / Math.max(1, state.intervalMs)) + 1);
  state.selectors = new Map(state.policies.map((p) => [p, labelPairs(p.selector)]));
  const live = new Set(state.policies.flatMap((p) => p.rules.map((r) => `${policyKey(p)}|${r.name}`)));
  for (const k of state.rules.keys()) if (!live.has(k)) state.rules.delete(k);
  const inc = state.inc;
  inc.plans = new Map(state.policies.flatMap((p) => p.rules.map((r) => [r, planRule(r.when)] as const)));
  // One group per distinct selector; every member counts as newly selected at the next tick.
  inc.groups = new Map();
  inc.groupOf = new Map();
  for (const p of state.policies) {
    const k = JSON.stringify([[...p.selector.kinds].sort(), Object.entries(p.selector.matchLabels).sort()]);
    let g = inc.groups.get(k);
    if (!g) inc.groups.set(k, (g = { policy0: p, pairs: state.selectors.get(p)!, members: new Set(), added: new Set() }));
    inc.groupOf.set(p, g);
  }
  inc.regroup = true;
  inc.pending = new Map();
  inc.firing = new Map();
  for (const p of state.policies) {
    let n = 0;
    for (const r of p.rules) {
      const rk = `${policyKey(p)}|${r.name}`;
      for (const [tk, st] of state.rules.get(rk) ?? []) {
        if (st.firing) n++;
        else if (st.pendingSince !== undefined) pendingOf(inc, rk).add(tk);
      }
    }
    inc.firing.set(policyKey(p), n);
  }
}

function pendingOf(inc: Incremental, rk: string): Set<string> {
  let s = inc.pending.get(rk);
  if (!s) inc.pending.set(rk, (s = new Set()));
  return s;
}

export function selects(p: Policy, t: TargetView, pairs: ReadonlyArray<readonly [string, string]> = labelPairs(p.selector)): boolean {
  if (!p.selector.kinds.includes(t.kind)) return false;
  for (let i = 0; i < pairs.length; i++) if (t.labels[pairs[i]![0]] !== pairs[i]![1]) return false;
  return true;
}

/** Samples every target's metrics into the kept series (once a tick, before evaluation). */
export function record(state: EngineState, s: Snapshot): void {
  for (const t of s.targets) for (const m in t.metrics) state.series.record(t.key, m, s.now, t.metrics[m]!);
  for (const m in s.host) state.series.record("host", m, s.now, s.host[m]!);
  state.series.prune(s.now - 2 * state.intervalMs - 60_000);
}

/** How disruptive an action is; on a tie in priority the lower one wins a conflict. */
const DISRUPTION: Record<Action["type"], number> = {
  alert: 0, webhook: 0, run_task: 0, pause_scaling: 1, resume_scaling: 2, set_weight: 3, drain: 4, eject: 5, scale: 3, restart: 6, rollback: 7,
};
/** Actions on one target conflict when they share a class; alerts, webhooks and tasks never conflict. */
function conflictClass(a: Action, t: TargetView): string | undefined {
  switch (a.type) {
    case "scale":
    case "pause_scaling":
    case "resume_scaling":
      return `capacity:${t.app}`;
    case "restart":
      return a.target === "app" ? `lifecycle:${t.app}` : `lifecycle:${t.id}`;
    case "rollback":
      return `lifecycle:${t.app}`;
    case "drain":
    case "eject":
    case "set_weight":
      return `lifecycle:${t.id}`;
    default:
      return undefined;
  }
}

/** The replica count a scale action asks for, from `current` (for conservativeness: more capacity is safer). */
export function scaleTarget(a: Extract<Action, { type: "scale" }>, current: number): number {
  let n = a.to ?? (a.by !== undefined ? current + a.by : Math.round(current * (a.factor ?? 1)));
  if (a.min !== undefined) n = Math.max(a.min, n);
  if (a.max !== undefined) n = Math.min(a.max, n);
  return Math.max(0, n);
}

/** One evaluation tick. `evaluateOnly` (what-if) reads the state without changing it and keeps every rule's values. */
export function tick(state: EngineState, s: Snapshot, opts: { only?: string; evaluateOnly?: boolean; full?: boolean } = {}): TickResult {
  if (opts.only === undefined && !opts.evaluateOnly && !opts.full) return incrementalTick(state, s);
  const r = fullTick(state, s, opts);
  // A full pass leaves the incremental bookkeeping behind: the next incremental tick starts over from the state.
  if (!opts.evaluateOnly) setPolicies(state, state.policies, { resize: false });
  return r;
}

function fullTick(state: EngineState, s: Snapshot, opts: { only?: string; evaluateOnly?: boolean }): TickResult {
  const ctx: EvalContext = { snapshot: s, series: state.series, cel: state.cel, celErrors: [] };
  const firings: Firing[] = [];
  const resolved: TickResult["resolved"] = [];
  const firingByPolicy = new Map<string, number>();
  for (const p of state.policies) {
    const pk = policyKey(p);
    if (opts.only !== undefined && opts.only !== pk) continue;
    const pairs = state.selectors.get(p) ?? labelPairs(p.selector);
    const ruleMaps = p.rules.map((r) => {
      const rk = `${pk}|${r.name}`;
      let m = state.rules.get(rk);
      if (!m && !opts.evaluateOnly) state.rules.set(rk, (m = new Map()));
      return m;
    });
    let firingCount = 0;
    for (const t of s.targets) {
      if (!selects(p, t, pairs)) continue;
      const cache: { v?: Record<string, unknown> } = {};
      for (let ri = 0; ri < p.rules.length; ri++) {
        const r = p.rules[ri]!;
        const m = ruleMaps[ri];
        const prev = m?.get(t.key);
        const st: RuleState = opts.evaluateOnly ? { ...(prev ?? { firing: false, firings: 0, seen: s.now }) } : (prev ?? { firing: false, firings: 0, seen: s.now });
        if (!opts.evaluateOnly && !prev) m!.set(t.key, st);
        st.seen = s.now;
        // Evaluated without collecting first (short-circuit, no allocation); the values are collected only to report.
        const holds = evaluate(r.when, t, ctx, "when", undefined, cache);
        if (!holds) {
          if (st.firing && !opts.evaluateOnly) resolved.push({ policy: pk, rule: r.name, target: t.id, firing: st.firings });
          st.pendingSince = undefined;
          st.firing = false;
          continue;
        }
        st.pendingSince ??= s.now;
        const held = s.now - st.pendingSince >= r.forMs;
        const cooled = st.lastFiredAt === undefined || s.now - st.lastFiredAt >= r.cooldownMs;
        // A what-if shows every rule that holds now, whatever its `for` and cooldown.
        const fires = opts.evaluateOnly ? true : held && cooled && !st.firing;
        if (st.firing) firingCount++;
        if (!fires) continue;
        if (!opts.evaluateOnly) {
          st.firing = true;
          st.firings++;
          st.lastFiredAt = s.now;
          firingCount++;
        }
        const leaves: LeafValue[] = [];
        evaluate(r.when, t, ctx, "when", leaves, cache);
        const value = leaves.find((l) => typeof l.value === "number")?.value as number | undefined;
        firings.push({
          policy: pk,
          rule: r.name,
          target: t.id,
          firing: opts.evaluateOnly ? st.firings + 1 : st.firings,
          mode: p.mode,
          priority: p.priority,
          leaves,
          value: value ?? null,
          actions: r.actions.map((action) => ({ action, target: t, disposition: p.mode === "dry_run" ? Reason.DryRun : "execute" })),
        });
      }
    }
    firingByPolicy.set(pk, firingCount);
  }
  // A target that went away (or a rule no longer selecting it) leaves its state behind: forget it.
  if (!opts.evaluateOnly && opts.only === undefined) for (const m of state.rules.values()) for (const [k, st] of m) if (st.seen < s.now) m.delete(k);
  resolveConflicts(firings);
  return { firings, resolved, celErrors: ctx.celErrors, firingByPolicy };
}

/** Records which inputs of each owner changed since the previous tick (compared with the previous snapshot). */
function trackChanges(inc: Incremental, s: Snapshot): boolean {
  let labelsOrSet = false;
  const mark = (owner: string, input: string) => {
    let m = inc.changed.get(owner);
    if (!m) inc.changed.set(owner, (m = new Map()));
    m.set(input, s.now);
    m.set("*", s.now);
  };
  const next = new Map<string, TargetView>();
  for (const t of s.targets) {
    next.set(t.key, t);
    const p = inc.prev.get(t.key);
    if (!p) {
      labelsOrSet = true;
      mark(t.key, "*");
      continue;
    }
    for (const m in t.metrics) if (p.metrics[m] !== t.metrics[m]) mark(t.key, m);
    for (const m in p.metrics) if (!(m in t.metrics)) mark(t.key, m);
    if (p.health !== t.health || p.healthOf.length !== t.healthOf.length || p.healthOf.some((h, i) => h !== t.healthOf[i])) mark(t.key, "@health");
    if (p.deploymentInProgress !== t.deploymentInProgress) mark(t.key, "@deploy");
    if (p.kind !== t.kind || !sameLabels(p.labels, t.labels)) {
      mark(t.key, "@labels");
      labelsOrSet = true;
    }
  }
  if (next.size !== inc.prev.size) labelsOrSet = true;
  for (const k of inc.prev.keys()) if (!next.has(k)) inc.changed.delete(k);
  for (const m in s.host) if (inc.prevHost[m] !== s.host[m]) mark("host", m);
  for (const m in inc.prevHost) if (!(m in s.host)) mark("host", m);
  inc.prev = next;
  inc.prevHost = s.host;
  return labelsOrSet;
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  let n = 0;
  for (const k in a) {
    n++;
    if (a[k] !== b[k]) return false;
  }
  for (const _ in b) n--;
  return n === 0;
}

/** Computes each group's members again; targets that left a group take their rule state with them. */
function regroup(state: EngineState, s: Snapshot): void {
  const inc = state.inc;
  for (const g of inc.groups.values()) {
    const next = new Set<string>();
    for (const t of s.targets) if (selects(g.policy0, t, g.pairs)) next.add(t.key);
    for (const k of next) if (!g.members.has(k)) g.added.add(k);
    for (const k of g.members) {
      if (next.has(k)) continue;
      for (const p of state.policies) {
        if (inc.groupOf.get(p) !== g) continue;
        const pk = policyKey(p);
        for (const r of p.rules) {
          const rk = `${pk}|${r.name}`;
          const st = state.rules.get(rk)?.get(k);
          if (st?.firing) inc.firing.set(pk, (inc.firing.get(pk) ?? 1) - 1);
          state.rules.get(rk)?.delete(k);
          inc.pending.get(rk)?.delete(k);
        }
      }
    }
    g.members = next;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function incrementalTick(state: EngineState, s: Snapshot): TickResult {
  const inc = state.inc;
  const ctx: EvalContext = { snapshot: s, series: state.series, cel: state.cel, celErrors: [] };
  const firings: Firing[] = [];
  const resolved: TickResult["resolved"] = [];
  if (trackChanges(inc, s) || inc.regroup) {
    regroup(state, s);
    inc.regroup = false;
  }
  const byKey = inc.prev;
  const index = new Map<string, number>();
  s.targets.forEach((t, i) => index.set(t.key, i));
  const lastNow = inc.lastNow;
  const stale = (owner: string, input: string, windowMs: number) => (inc.changed.get(owner)?.get(input) ?? -Infinity) > lastNow - windowMs;
  const ownerOf = (o: "self" | "app" | "host", t: TargetView) => (o === "host" ? "host" : o === "app" ? (t.kind === "app" ? t.key : `app:${t.app}`) : t.key);
  /** Per group and rule signature: the members to evaluate this tick (computed once, shared by every rule like it). */
  const dirtyCache = new Map<Group, Map<string, string[]>>();
  const dirtyOf = (g: Group, plan: RulePlan): string[] => {
    let m = dirtyCache.get(g);
    if (!m) dirtyCache.set(g, (m = new Map()));
    let list = m.get(plan.signature);
    if (list) return list;
    const timeFlipped = lastNow === -Infinity || plan.times.some((c) => inWindow(c, s.now) !== inWindow(c, lastNow));
    if (plan.volatile || timeFlipped) list = [...g.members];
    else {
      list = [];
      for (const k of g.members) {
        const t = byKey.get(k)!;
        if (g.added.has(k) || plan.reads.some((r) => stale(ownerOf(r.owner, t), r.input, r.windowMs))) list.push(k);
      }
    }
    m.set(plan.signature, list);
    return list;
  };

  const memos = new Map<string, Map<string, boolean>>();
  for (const p of state.policies) {
    const pk = policyKey(p);
    const g = inc.groupOf.get(p)!;
    // The (rule, target) pairs to look at: stale ones and pending ones, visited target by target as a full tick does.
    const perRule: Array<ReadonlySet<string>> = [];
    let keys: Set<string> | undefined;
    for (const r of p.rules) {
      const rk = `${pk}|${r.name}`;
      const dirty = dirtyOf(g, inc.plans.get(r)!);
      const pending = inc.pending.get(rk);
      if (dirty.length === 0 && (pending === undefined || pending.size === 0)) {
        perRule.push(EMPTY);
        continue;
      }
      const set = new Set(dirty);
      for (const k of pending ?? []) if (g.members.has(k)) set.add(k);
      perRule.push(set);
      keys ??= new Set();
      for (const k of set) keys.add(k);
    }
    if (keys === undefined) continue;
    const order = [...keys].sort((a, b) => index.get(a)! - index.get(b)!);
    let firing = inc.firing.get(pk) ?? 0;
    for (const k of order) {
      const t = byKey.get(k)!;
      const cache: { v?: Record<string, unknown> } = {};
      for (let ri = 0; ri < p.rules.length; ri++) {
        if (!perRule[ri]!.has(k)) continue;
        const r = p.rules[ri]!;
        const rk = `${pk}|${r.name}`;
        let m = state.rules.get(rk);
        if (!m) state.rules.set(rk, (m = new Map()));
        let st = m.get(k);
        if (!st) m.set(k, (st = { firing: false, firings: 0, seen: s.now }));
        st.seen = s.now;
        // The same condition in another policy over the same target was evaluated already this tick.
        const ck = inc.plans.get(r)!.conditionKey;
        let memo = memos.get(ck);
        if (!memo) memos.set(ck, (memo = new Map()));
        let holds = memo.get(k);
        if (holds === undefined) memo.set(k, (holds = evaluate(r.when, t, ctx, "when", undefined, cache)));
        if (!holds) {
          if (st.firing) {
            resolved.push({ policy: pk, rule: r.name, target: t.id, firing: st.firings });
            firing--;
          }
          st.pendingSince = undefined;
          st.firing = false;
          inc.pending.get(rk)?.delete(k);
          continue;
        }
        st.pendingSince ??= s.now;
        if (st.firing) continue;
        const held = s.now - st.pendingSince >= r.forMs;
        const cooled = st.lastFiredAt === undefined || s.now - st.lastFiredAt >= r.cooldownMs;
        if (!(held && cooled)) {
          pendingOf(inc, rk).add(k);
          continue;
        }
        inc.pending.get(rk)?.delete(k);
        st.firing = true;
        st.firings++;
        st.lastFiredAt = s.now;
        firing++;
        const leaves: LeafValue[] = [];
        evaluate(r.when, t, ctx, "when", leaves, cache);
        const value = leaves.find((l) => typeof l.value === "number")?.value as number | undefined;
        firings.push({
          policy: pk, rule: r.name, target: t.id, firing: st.firings, mode: p.mode, priority: p.priority, leaves, value: value ?? null,
          actions: r.actions.map((action) => ({ action, target: t, disposition: p.mode === "dry_run" ? Reason.DryRun : "execute" })),
        });
      }
    }
    inc.firing.set(pk, firing);
  }
  for (const g of inc.groups.values()) g.added.clear();
  inc.lastNow = s.now;
  resolveConflicts(firings);
  return { firings, resolved, celErrors: ctx.celErrors, firingByPolicy: new Map(inc.firing) };
}

/** Within one tick: per conflict class, the highest-priority action wins; on a tie the less disruptive (for scale: more replicas). */
export function resolveConflicts(firings: Firing[]): void {
  const winners = new Map<string, { f: Firing; i: number }>();
  const better = (a: { f: Firing; i: number }, b: { f: Firing; i: number }): boolean => {
    if (a.f.priority !== b.f.priority) return a.f.priority > b.f.priority;
    const x = a.f.actions[a.i]!.action;
    const y = b.f.actions[b.i]!.action;
    if (x.type === "scale" && y.type === "scale") {
      const cur = a.f.actions[a.i]!.target.metrics.replicas ?? 0;
      return scaleTarget(x, cur) > scaleTarget(y, cur);
    }
    return DISRUPTION[x.type] < DISRUPTION[y.type];
  };
  for (const f of firings) {
    f.actions.forEach((pa, i) => {
      const cls = conflictClass(pa.action, pa.target);
      if (!cls || pa.disposition !== "execute") return;
      const cur = winners.get(cls);
      const me = { f, i };
      if (!cur) return void winners.set(cls, me);
      const [win, lose] = better(me, cur) ? [me, cur] : [cur, me];
      winners.set(cls, win);
      const reason = win.f.priority !== lose.f.priority ? Reason.Overridden : Reason.MoreConservative;
      lose.f.actions[lose.i] = { ...lose.f.actions[lose.i]!, disposition: reason, overriddenBy: `${win.f.policy}/${win.f.rule}` };
    });
  }
}
