// What a rule reads, found once when the policy set is installed, so a tick evaluates a (rule, target) pair only when
// something it reads changed: the metric series it names (within its window), the target's labels, health or
// deployment flag, the host's series, the time of day. A rule whose value can change with time alone (CEL reading
// `now` or `replica.age`, a windowed `sum` whose sample count moves) is volatile: evaluated on every tick.
//
// The tick (engine.ts) keeps, per owner ("replica:web-1", "app:web", "host") and input, when it last changed. A read
// over a window W is stale when its input changed after (previous tick - W): otherwise every sample in both the
// previous and the current window is the same value, and so is every aggregate but `sum`.
import type { Condition, TimeCondition } from "./types.ts";

export interface Read {
  /** self: the target's own inputs; app: its app's series; host: the host's. */
  readonly owner: "self" | "app" | "host";
  /** A metric name, "@labels", "@health", "@deploy", or "*" (any input of the owner). */
  readonly input: string;
  readonly windowMs: number;
}

export interface RulePlan {
  readonly reads: readonly Read[];
  readonly times: readonly TimeCondition[];
  readonly volatile: boolean;
  /** Rules with the same signature over the same selector share one list of targets to evaluate per tick. */
  readonly signature: string;
  /** The condition as text: identical conditions (in several policies) are evaluated once per target per tick. */
  readonly conditionKey: string;
}

const CEL_METRIC_INDEX = /metrics\s*\[\s*(['"])([^'"\\]+)\1\s*\]/g;
const CEL_METRIC_FIELD = /metrics\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)/g;
const CEL_METRICS = /\bmetrics\b/g;
/** Reads of the clock: the value can change with nothing else changing. */
const CEL_TIME = /\bnow\b|\.\s*age\b/;

function celReads(source: string, out: Read[]): boolean {
  if (CEL_TIME.test(source)) return true;
  let named = 0;
  for (const m of source.matchAll(CEL_METRIC_INDEX)) {
    named++;
    out.push({ owner: "self", input: m[2]!, windowMs: 0 });
  }
  for (const m of source.matchAll(CEL_METRIC_FIELD)) {
    named++;
    out.push({ owner: "self", input: m[1]!, windowMs: 0 });
  }
  // `metrics` used other than by a literal key ('x' in metrics, metrics[k], size(metrics)): any metric may matter.
  if ((source.match(CEL_METRICS)?.length ?? 0) > named) out.push({ owner: "self", input: "*", windowMs: 0 });
  if (/\bhost\b/.test(source)) out.push({ owner: "host", input: "*", windowMs: 0 });
  // The context's other fields: replica.ready/restarts/health, app.replicas/ready, target.labels, deployment.
  for (const input of ["@labels", "@health", "@deploy", "ready", "restarts", "replicas"]) out.push({ owner: "self", input, windowMs: 0 });
  return false;
}

export function planRule(when: Condition): RulePlan {
  const reads: Read[] = [];
  const times: TimeCondition[] = [];
  let volatile = false;
  const walk = (c: Condition) => {
    switch (c.kind) {
      case "all":
      case "any":
        c.of.forEach(walk);
        return;
      case "not":
        walk(c.of);
        return;
      case "metric": {
        const windowMs = c.agg === "last" ? 0 : c.windowMs;
        if (c.agg === "sum" && windowMs > 0) volatile = true;
        reads.push({ owner: c.of === "host" ? "host" : c.of === "app" ? "app" : "self", input: c.name, windowMs });
        return;
      }
      case "label":
        reads.push({ owner: "self", input: "@labels", windowMs: 0 });
        return;
      case "health":
        for (const input of ["@health", "ready", "replicas"]) reads.push({ owner: "self", input, windowMs: 0 });
        return;
      case "time":
        times.push(c);
        return;
      case "cel":
        if (celReads(c.source, reads)) volatile = true;
        return;
    }
  };
  walk(when);
  // One entry per (owner, input) with the longest window.
  const merged = new Map<string, Read>();
  for (const r of reads) {
    const k = `${r.owner}|${r.input}`;
    const cur = merged.get(k);
    if (!cur || cur.windowMs < r.windowMs) merged.set(k, r);
  }
  const list = [...merged.values()].sort((a, b) => `${a.owner}|${a.input}`.localeCompare(`${b.owner}|${b.input}`));
  const signature = volatile ? "volatile" : JSON.stringify([list.map((r) => [r.owner, r.input, r.windowMs]), times]);
  return { reads: list, times, volatile, signature, conditionKey: JSON.stringify(when, (_k, v) => (v instanceof RegExp ? v.source : v)) };
}
