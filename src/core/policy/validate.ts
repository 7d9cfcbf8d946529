// Whole-document validation of a policy (apiVersion polis/v1, kind Policy): every problem with its path, so a file is
// accepted whole or refused whole. CEL expressions are compiled and type-checked here; templates may name only the
// fields of the documented template context.
import { compileCel } from "./cel.ts";
import {
  type Action, ACTION_TYPES, AGGREGATIONS, COMPARISONS, type Condition, LABEL_OPS, METRICS, MODES, type Policy, type Rule,
  TARGET_KINDS, type TargetKind, WEEKDAYS, type Weekday,
} from "./types.ts";

export interface PolicyProblem {
  readonly path: string;
  readonly message: string;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const FACTOR: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** Windows longer than this would keep too many samples per target (one a tick). */
export const MAX_WINDOW_MS = 3_600_000;
const MAX_NESTING = 16;
const MAX_RULES = 64;
const MAX_ACTIONS = 16;
/** Fields a template may name: `{{ .target.id }}`, `{{ .value }}` ... */
export const TEMPLATE_FIELDS = ["policy", "rule", "target.id", "target.kind", "target.app", "replica.id", "app.name", "value", "firing", "mode"] as const;
const TEMPLATE = /\{\{\s*([^}]*?)\s*\}\}/g;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  if (typeof v !== "string") return undefined;
  const m = DURATION.exec(v.trim());
  return m ? Math.round(Number(m[1]) * FACTOR[m[2]!]!) : undefined;
}

/** Validates one document; `source` is where it came from (file path or "api"). */
export function validatePolicy(doc: unknown, source: string, declared: { tasks: readonly string[] | null } = { tasks: null }): { ok: true; policy: Policy } | { ok: false; problems: PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  const bad = (path: string, message: string) => void problems.push({ path, message });
  const known = (o: Obj, path: string, keys: readonly string[]) => {
    for (const k of Object.keys(o)) if (!keys.includes(k)) bad(path ? `${path}.${k}` : k, `unknown field "${k}" (expected one of: ${keys.join(", ")})`);
  };
  const str = (v: unknown, path: string, opts: { required?: boolean; pattern?: RegExp; what?: string } = {}): string | undefined => {
    if (v === undefined) {
      if (opts.required) bad(path, "required field is missing");
      return undefined;
    }
    if (typeof v !== "string" || v.length === 0) return void bad(path, `expected a non-empty string, got ${JSON.stringify(v)}`);
    if (opts.pattern && !opts.pattern.test(v)) return void bad(path, `${JSON.stringify(v)} is not ${opts.what ?? "valid"}`);
    return v;
  };
  const oneOf = <T extends string>(v: unknown, path: string, allowed: readonly T[], dflt?: T): T | undefined => {
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
    bad(path, v === undefined ? `required field is missing (one of: ${allowed.join(", ")})` : `${JSON.stringify(v)} is not one of: ${allowed.join(", ")}`);
    return undefined;
  };
  const num = (v: unknown, path: string, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined => {
    if (typeof v !== "number" || !Number.isFinite(v) || (opts.int && !Number.isInteger(v))) return void bad(path, `expected ${opts.int ? "an integer" : "a number"}, got ${JSON.stringify(v)}`);
    if (opts.min !== undefined && v < opts.min) return void bad(path, `${v} is below the minimum ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) return void bad(path, `${v} is above the maximum ${opts.max}`);
    return v;
  };
  const dur = (v: unknown, path: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (v === undefined) return dflt;
    const ms = parseDurationMs(v);
    if (ms === undefined) return bad(path, `${JSON.stringify(v)} is not a duration such as "30s", "5m" or "1h"`), dflt;
    if (ms > max) return bad(path, `${JSON.stringify(v)} is longer than the maximum ${max / 1000}s`), dflt;
    return ms;
  };
  const strMap = (v: unknown, path: string): Record<string, string> => {
    if (v === undefined) return {};
    if (!isObj(v)) return bad(path, "expected a map of strings"), {};
    for (const [k, x] of Object.entries(v)) if (typeof x !== "string") bad(`${path}.${k}`, `expected a string, got ${JSON.stringify(x)}`);
    return v as Record<string, string>;
  };
  const template = (v: unknown, path: string, required: boolean): string => {
    const s = str(v, path, { required }) ?? "";
    for (const m of s.matchAll(TEMPLATE)) {
      const f = m[1]!.startsWith(".") ? m[1]!.slice(1) : undefined;
      if (f === undefined || !(TEMPLATE_FIELDS as readonly string[]).includes(f)) bad(path, `template names unknown field "${m[1]}" (known: ${TEMPLATE_FIELDS.map((x) => `.${x}`).join(", ")})`);
    }
    return s;
  };

  const condition = (v: unknown, path: string, depth: number, kinds: readonly TargetKind[]): Condition | undefined => {
    if (depth > MAX_NESTING) return void bad(path, `conditions nest deeper than ${MAX_NESTING}`);
    if (!isObj(v)) return void bad(path, "expected a condition: one of all, any, not, metric, label, time, health, cel");
    const key = Object.keys(v).find((k) => ["all", "any", "not", "metric", "label", "time", "health", "cel"].includes(k));
    if (key === undefined) return void bad(path, `expected one of all, any, not, metric, label, time, health, cel; got ${Object.keys(v).map((k) => `"${k}"`).join(", ") || "an empty map"}`);
    const p = `${path}.${key}`;
    if (key === "all" || key === "any") {
      known(v, path, [key]);
      const list = v[key];
      if (!Array.isArray(list) || list.length === 0) return void bad(p, "expected a non-empty list of conditions");
      const of = list.map((c, i) => condition(c, `${p}[${i}]`, depth + 1, kinds));
      return of.every((c) => c) ? { kind: key, of: of as Condition[] } : undefined;
    }
    if (key === "not") {
      known(v, path, ["not"]);
      const of = condition(v.not, p, depth + 1, kinds);
      return of ? { kind: "not", of } : undefined;
    }
    if (key === "cel") {
      known(v, path, ["cel"]);
      const src = str(v.cel, p, { required: true });
      if (src === undefined) return undefined;
      const c = compileCel(src);
      if (!c.ok) return void bad(p, `CEL: ${c.message}`);
      return { kind: "cel", source: src };
    }
    if (key === "metric") {
      known(v, path, ["metric", "op", "value"]);
      const m = v.metric;
      if (!isObj(m)) return void bad(p, "expected {name, of, window, agg}");
      known(m, p, ["name", "of", "window", "agg"]);
      const name = str(m.name, `${p}.name`, { required: true });
      const info = name !== undefined ? METRICS[name] : undefined;
      if (name !== undefined && !info) bad(`${p}.name`, `unknown metric "${name}" (known: ${Object.keys(METRICS).join(", ")})`);
      const dflt = info?.of.includes("replica") && kinds.includes("replica") ? "replica" : info?.of.includes("app") ? "app" : info?.of[0];
      // An unknown metric is one problem, not also one about where it is kept.
      const of = info ? oneOf(m.of, `${p}.of`, ["replica", "app", "host"] as const, dflt) : undefined;
      if (info && of && !info.of.includes(of)) bad(`${p}.of`, `metric "${name}" is not kept for ${of} (it is for: ${info.of.join(", ")})`);
      if (of === "replica" && !kinds.includes(of)) bad(`${p}.of`, `the selector picks ${kinds.join(", ")}, so no target is a ${of}`);
      const agg = oneOf(m.agg, `${p}.agg`, AGGREGATIONS, "last");
      const windowMs = dur(m.window, `${p}.window`, 0, MAX_WINDOW_MS);
      if (agg && agg !== "last" && windowMs === 0 && m.window === undefined) bad(`${p}.window`, `agg "${agg}" needs a window`);
      const op = oneOf(v.op, `${path}.op`, COMPARISONS);
      const value = num(v.value, `${path}.value`);
      if (!name || !info || !of || !agg || !op || value === undefined) return undefined;
      return { kind: "metric", name, of, windowMs, agg, op, value };
    }
    if (key === "label") {
      known(v, path, ["label"]);
      const l = v.label;
      if (!isObj(l)) return void bad(p, "expected {key, op, value | values}");
      known(l, p, ["key", "op", "value", "values"]);
      const k = str(l.key, `${p}.key`, { required: true });
      const op = oneOf(l.op, `${p}.op`, LABEL_OPS, "eq");
      let values: string[] = [];
      if (op === "in" || op === "not_in") {
        if (!Array.isArray(l.values) || l.values.length === 0 || !l.values.every((x) => typeof x === "string")) bad(`${p}.values`, `op "${op}" needs a non-empty list of strings`);
        else values = l.values as string[];
      } else if (op !== "exists") {
        const s = str(l.value, `${p}.value`, { required: true });
        if (s !== undefined) values = [s];
      }
      let regex: RegExp | undefined;
      if (op === "regex" && values[0] !== undefined) {
        try {
          regex = new RegExp(`^(?:${values[0]})$`);
        } catch (e) {
          bad(`${p}.value`, `not a regular expression: ${(e as Error).message}`);
        }
      }
      if (!k || !op) return undefined;
      return { kind: "label", key: k, op, values, ...(regex ? { regex } : {}) };
    }
    if (key === "time") {
      known(v, path, ["time"]);
      const t = v.time;
      if (!isObj(t)) return void bad(p, "expected {weekdays, from, to, timezone}");
      known(t, p, ["weekdays", "from", "to", "timezone"]);
      let weekdays: Weekday[] = [...WEEKDAYS];
      if (t.weekdays !== undefined) {
        if (!Array.isArray(t.weekdays) || t.weekdays.length === 0) bad(`${p}.weekdays`, `expected a non-empty list of: ${WEEKDAYS.join(", ")}`);
        else weekdays = t.weekdays.map((d, i) => oneOf(d, `${p}.weekdays[${i}]`, WEEKDAYS)).filter((d): d is Weekday => d !== undefined);
      }
      const clock = (x: unknown, at: string, dflt: number) => {
        if (x === undefined) return dflt;
        const m = typeof x === "string" ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(x) : null;
        if (!m) return bad(at, `${JSON.stringify(x)} is not a time of day "HH:MM"`), dflt;
        return Number(m[1]) * 60 + Number(m[2]);
      };
      const fromMin = clock(t.from, `${p}.from`, 0);
      const toMin = clock(t.to, `${p}.to`, 24 * 60);
      const timeZone = str(t.timezone, `${p}.timezone`) ?? "UTC";
      try {
        new Intl.DateTimeFormat("en-US", { timeZone });
      } catch {
        bad(`${p}.timezone`, `unknown time zone ${JSON.stringify(timeZone)}`);
      }
      return { kind: "time", weekdays, fromMin, toMin, timeZone };
    }
    // health
    known(v, path, ["health"]);
    const h = v.health;
    if (!isObj(h)) return void bad(p, "expected {status}");
    known(h, p, ["status"]);
    const status = oneOf(h.status, `${p}.status`, ["passing", "warning", "critical", "unknown", "not_ready"] as const);
    return status ? { kind: "health", status } : undefined;
  };

  const action = (v: unknown, path: string, kinds: readonly TargetKind[]): Action | undefined => {
    if (!isObj(v)) return void bad(path, "expected an action {type, ...}");
    const type = oneOf(v.type, `${path}.type`, ACTION_TYPES);
    if (!type) return undefined;
    const needReplica = () => {
      if (!kinds.includes("replica")) bad(`${path}.type`, `action "${type}" acts on a replica, but the selector picks ${kinds.join(", ")}`);
    };
    switch (type) {
      case "scale": {
        known(v, path, ["type", "to", "by", "factor", "min", "max", "for"]);
        const set = ["to", "by", "factor"].filter((k) => v[k] !== undefined);
        if (set.length !== 1) bad(path, `a scale action needs exactly one of to, by, factor (got ${set.join(", ") || "none"})`);
        const to = v.to !== undefined ? num(v.to, `${path}.to`, { int: true, min: 0, max: 10_000 }) : undefined;
        const by = v.by !== undefined ? num(v.by, `${path}.by`, { int: true, min: -10_000, max: 10_000 }) : undefined;
        const factor = v.factor !== undefined ? num(v.factor, `${path}.factor`, { min: 0, max: 100 }) : undefined;
        const min = v.min !== undefined ? num(v.min, `${path}.min`, { int: true, min: 0 }) : undefined;
        const max = v.max !== undefined ? num(v.max, `${path}.max`, { int: true, min: 0 }) : undefined;
        if (min !== undefined && max !== undefined && min > max) bad(`${path}.min`, `min ${min} is above max ${max}`);
        const forMs = dur(v.for, `${path}.for`, 10 * 60_000);
        return { type, ...(to !== undefined ? { to } : {}), ...(by !== undefined ? { by } : {}), ...(factor !== undefined ? { factor } : {}), ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}), forMs };
      }
      case "restart": {
        known(v, path, ["type", "target"]);
        const target = oneOf(v.target, `${path}.target`, ["replica", "app"] as const, kinds.includes("replica") ? "replica" : "app");
        if (target === "replica") needReplica();
        return target ? { type, target } : undefined;
      }
      case "drain":
      case "eject":
        known(v, path, ["type"]);
        needReplica();
        return { type };
      case "set_weight": {
        known(v, path, ["type", "weight"]);
        needReplica();
        const weight = num(v.weight, `${path}.weight`, { int: true, min: 0, max: 65535 });
        return weight !== undefined ? { type, weight } : undefined;
      }
      case "rollback": {
        known(v, path, ["type", "revision"]);
        const revision = v.revision !== undefined ? num(v.revision, `${path}.revision`, { int: true, min: 1 }) : undefined;
        return { type, ...(revision !== undefined ? { revision } : {}) };
      }
      case "pause_scaling":
        known(v, path, ["type", "for"]);
        return { type, forMs: dur(v.for, `${path}.for`, 10 * 60_000) };
      case "resume_scaling":
        known(v, path, ["type"]);
        return { type };
      case "alert": {
        known(v, path, ["type", "severity", "summary"]);
        const severity = oneOf(v.severity, `${path}.severity`, ["info", "warning", "critical"] as const, "warning");
        const summary = template(v.summary, `${path}.summary`, true);
        return severity ? { type, severity, summary } : undefined;
      }
      case "webhook": {
        known(v, path, ["type", "url", "body", "timeout", "retries", "secret_env"]);
        const url = str(v.url, `${path}.url`, { required: true, pattern: /^https?:\/\/[^\s]+$/, what: "an http(s) URL" });
        let body = "";
        if (v.body !== undefined) {
          if (!isObj(v.body) && !Array.isArray(v.body)) bad(`${path}.body`, "expected a JSON object (its strings may hold templates)");
          else {
            body = JSON.stringify(v.body);
            template(body, `${path}.body`, false);
          }
        }
        const retries = v.retries !== undefined ? num(v.retries, `${path}.retries`, { int: true, min: 0, max: 10 }) : 2;
        const secretEnv = str(v.secret_env, `${path}.secret_env`, { pattern: /^[A-Z_][A-Z0-9_]*$/, what: "an environment variable name" });
        return url ? { type, url, body, timeoutMs: dur(v.timeout, `${path}.timeout`, 5000, 60_000), retries: retries ?? 2, ...(secretEnv ? { secretEnv } : {}) } : undefined;
      }
      case "run_task": {
        known(v, path, ["type", "task", "params"]);
        const task = str(v.task, `${path}.task`, { required: true });
        if (task !== undefined && declared.tasks !== null && !declared.tasks.includes(task)) {
          bad(`${path}.task`, `no task named "${task}" is declared in the config (tasks:)${declared.tasks.length > 0 ? `; declared: ${declared.tasks.join(", ")}` : ""}`);
        }
        const params = strMap(v.params, `${path}.params`);
        for (const [k, x] of Object.entries(params)) template(x, `${path}.params.${k}`, false);
        return task ? { type, task, params } : undefined;
      }
    }
  };

  if (!isObj(doc)) return { ok: false, problems: [{ path: "(root)", message: "expected a policy document (a map with apiVersion, kind, metadata, spec)" }] };
  known(doc, "", ["apiVersion", "kind", "metadata", "spec"]);
  if (doc.apiVersion !== "polis/v1") bad("apiVersion", `expected "polis/v1", got ${JSON.stringify(doc.apiVersion)}`);
  if (doc.kind !== "Policy") bad("kind", `expected "Policy", got ${JSON.stringify(doc.kind)}`);
  const md = isObj(doc.metadata) ? doc.metadata : (bad("metadata", "expected {name, namespace, labels}"), {});
  known(md, "metadata", ["name", "namespace", "labels"]);
  const name = str(md.name, "metadata.name", { required: true, pattern: NAME, what: "a name (lower-case letters, digits, '-')" });
  const namespace = md.namespace === undefined ? "default" : str(md.namespace, "metadata.namespace", { pattern: NAME, what: "a namespace (lower-case letters, digits, '-')" });
  const labels = strMap(md.labels, "metadata.labels");
  const spec = isObj(doc.spec) ? doc.spec : (bad("spec", "expected {selector, priority, mode, rules}"), {});
  known(spec, "spec", ["selector", "priority", "mode", "rules"]);
  const sel = spec.selector === undefined ? {} : isObj(spec.selector) ? spec.selector : (bad("spec.selector", "expected {matchLabels, kinds}"), {});
  known(sel, "spec.selector", ["matchLabels", "kinds"]);
  let kinds: TargetKind[] = ["app"];
  if (sel.kinds !== undefined) {
    if (!Array.isArray(sel.kinds) || sel.kinds.length === 0) bad("spec.selector.kinds", `expected a non-empty list of: ${TARGET_KINDS.join(", ")}`);
    else kinds = sel.kinds.map((k, i) => oneOf(k, `spec.selector.kinds[${i}]`, TARGET_KINDS)).filter((k): k is TargetKind => k !== undefined);
  }
  const matchLabels = strMap(sel.matchLabels, "spec.selector.matchLabels");
  const priority = spec.priority === undefined ? 0 : (num(spec.priority, "spec.priority", { int: true, min: -1000, max: 1000 }) ?? 0);
  const mode = oneOf(spec.mode, "spec.mode", MODES, "enforce");
  const rules: Rule[] = [];
  if (!Array.isArray(spec.rules) || spec.rules.length === 0) bad("spec.rules", "expected a non-empty list of rules");
  else if (spec.rules.length > MAX_RULES) bad("spec.rules", `at most ${MAX_RULES} rules per policy`);
  else {
    const seen = new Set<string>();
    spec.rules.forEach((r, i) => {
      const p = `spec.rules[${i}]`;
      if (!isObj(r)) return bad(p, "expected a rule {name, when, for, cooldown, actions}");
      known(r, p, ["name", "when", "for", "cooldown", "actions"]);
      const rn = str(r.name, `${p}.name`, { required: true, pattern: NAME, what: "a rule name (lower-case letters, digits, '-')" });
      if (rn && seen.has(rn)) bad(`${p}.name`, `rule "${rn}" is named twice`);
      if (rn) seen.add(rn);
      const when = r.when === undefined ? (bad(`${p}.when`, "required field is missing"), undefined) : condition(r.when, `${p}.when`, 0, kinds);
      const forMs = dur(r.for, `${p}.for`, 0);
      const cooldownMs = dur(r.cooldown, `${p}.cooldown`, 0);
      const actions: Action[] = [];
      if (!Array.isArray(r.actions) || r.actions.length === 0) bad(`${p}.actions`, "expected a non-empty list of actions");
      else if (r.actions.length > MAX_ACTIONS) bad(`${p}.actions`, `at most ${MAX_ACTIONS} actions per rule`);
      else r.actions.forEach((a, j) => {
        const x = action(a, `${p}.actions[${j}]`, kinds);
        if (x) actions.push(x);
      });
      if (rn && when) rules.push({ name: rn, when, forMs, cooldownMs, actions });
    });
  }
  if (problems.length > 0 || !name || !namespace || !mode) return { ok: false, problems };
  return { ok: true, policy: { namespace, name, labels, selector: { kinds, matchLabels }, priority, mode, rules, source, document: doc } };
}
