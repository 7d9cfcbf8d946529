// Condition evaluation over one tick's snapshot and the kept series: returns whether the condition holds and the
// value of every leaf (what the audit and the what-if show). A CEL expression that throws counts as false and is
// reported, never thrown.
import { celContext, type CompiledCel } from "./cel.ts";
import type { Series } from "./series.ts";
import type { Condition, MetricCondition, Snapshot, TargetView, TimeCondition, Weekday } from "./types.ts";

export interface LeafValue {
  readonly path: string;
  readonly holds: boolean;
  readonly value?: number | string | boolean | null;
  readonly error?: string;
}

export interface EvalContext {
  readonly snapshot: Snapshot;
  readonly series: Series;
  /** Compiled CEL by source text (compiled when the policy set was loaded). */
  readonly cel: ReadonlyMap<string, CompiledCel>;
  /** CEL failures of this tick (the runner turns them into events). */
  readonly celErrors: Array<{ source: string; target: string; error: string }>;
}

/** Whose series a metric condition reads: the host's, the target's app's, or the target's own. */
export function seriesOwner(c: MetricCondition, t: TargetView): string {
  if (c.of === "host") return "host";
  if (c.of === "app") return t.kind === "app" ? t.key : `app:${t.app}`;
  return t.key;
}

const WEEKDAY_INDEX: Record<string, Weekday> = { Sun: "sun", Mon: "mon", Tue: "tue", Wed: "wed", Thu: "thu", Fri: "fri", Sat: "sat" };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Weekday and minute of the day at `now` in a time zone. */
export function localTime(now: number, timeZone: string): { weekday: Weekday; minute: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    formatters.set(timeZone, f);
  }
  let weekday: Weekday = "sun";
  let h = 0;
  let m = 0;
  for (const p of f.formatToParts(now)) {
    if (p.type === "weekday") weekday = WEEKDAY_INDEX[p.value] ?? "sun";
    else if (p.type === "hour") h = Number(p.value);
    else if (p.type === "minute") m = Number(p.value);
  }
  return { weekday, minute: h * 60 + m };
}

export function inWindow(c: TimeCondition, now: number): boolean {
  const { weekday, minute } = localTime(now, c.timeZone);
  if (!c.weekdays.includes(weekday)) return false;
  return c.fromMin <= c.toMin ? minute >= c.fromMin && minute < c.toMin : minute >= c.fromMin || minute < c.toMin;
}

function compare(a: number, op: MetricCondition["op"], b: number): boolean {
  switch (op) {
    case ">": return a > b;
    case ">=": return a >= b;
    case "<": return a < b;
    case "<=": return a <= b;
    case "==": return a === b;
    case "!=": return a !== b;
  }
}

/** Evaluates `c` for target `t`; leaf values are pushed onto `leaves` (pass undefined to skip collecting them). */
export function evaluate(c: Condition, t: TargetView, ctx: EvalContext, path: string, leaves: LeafValue[] | undefined, celCache: { v?: Record<string, unknown> }): boolean {
  switch (c.kind) {
    case "all":
      // Every branch is evaluated when collecting, so the audit shows each value; otherwise it short-circuits.
      if (leaves) return c.of.map((x, i) => evaluate(x, t, ctx, `${path}.all[${i}]`, leaves, celCache)).every(Boolean);
      return c.of.every((x, i) => evaluate(x, t, ctx, path, undefined, celCache));
    case "any":
      if (leaves) return c.of.map((x, i) => evaluate(x, t, ctx, `${path}.any[${i}]`, leaves, celCache)).some(Boolean);
      return c.of.some((x) => evaluate(x, t, ctx, path, undefined, celCache));
    case "not":
      return !evaluate(c.of, t, ctx, `${path}.not`, leaves, celCache);
    case "metric": {
      const v = ctx.series.aggregate(seriesOwner(c, t), c.name, c.agg, c.windowMs, ctx.snapshot.now);
      const holds = v !== undefined && compare(v, c.op, c.value);
      leaves?.push({ path, holds, value: v ?? null });
      return holds;
    }
    case "label": {
      const v = t.labels[c.key];
      let holds: boolean;
      switch (c.op) {
        case "exists": holds = v !== undefined; break;
        case "eq": holds = v === c.values[0]; break;
        case "neq": holds = v !== c.values[0]; break;
        case "in": holds = v !== undefined && c.values.includes(v); break;
        case "not_in": holds = v === undefined || !c.values.includes(v); break;
        case "regex": holds = v !== undefined && c.regex !== undefined && c.regex.test(v); break;
      }
      leaves?.push({ path, holds, value: v ?? null });
      return holds;
    }
    case "time": {
      const holds = inWindow(c, ctx.snapshot.now);
      leaves?.push({ path, holds, value: new Date(ctx.snapshot.now).toISOString() });
      return holds;
    }
    case "health": {
      const holds = c.status === "not_ready" ? (t.metrics.ready ?? 0) === 0 || (t.kind === "app" && (t.metrics.ready ?? 0) < (t.metrics.replicas ?? 0)) : t.healthOf.includes(c.status);
      leaves?.push({ path, holds, value: t.health });
      return holds;
    }
    case "cel": {
      const fn = ctx.cel.get(c.source);
      if (!fn) {
        leaves?.push({ path, holds: false, error: "expression not compiled" });
        return false;
      }
      try {
        celCache.v ??= celContext(t, ctx.snapshot);
        const holds = fn(celCache.v);
        leaves?.push({ path, holds, value: holds });
        return holds;
      } catch (e) {
        const error = String((e as Error)?.message ?? e).split("\n")[0]!;
        (leaves ?? []).push({ path, holds: false, error });
        ctx.celErrors.push({ source: c.source, target: t.id, error });
        return false;
      }
    }
  }
}
