// Maps task definitions (config) and API bodies to queue specs: parameters checked against their patterns and
// substituted into args and env ({{name}}); defaults from task_queue.
import type { TaskSpec } from "../core/tasks/types.ts";
import type { TaskDefinitionConfig, TaskQueueConfig } from "./tasks-schema.ts";

export class ParamError extends Error {
  readonly _tag = "ParamError";
  constructor(
    readonly field: string,
    message: string,
    readonly value?: string,
  ) {
    super(message);
  }
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Every parameter resolved (given, else its default), each matching its pattern; unknown ones refused. */
export function resolveParams(d: TaskDefinitionConfig, given: Readonly<Record<string, string>> = {}): Record<string, string> {
  for (const k of Object.keys(given)) if (!(k in d.params)) throw new ParamError(`params.${k}`, `task ${d.name} has no parameter ${k}${Object.keys(d.params).length ? ` (it has ${Object.keys(d.params).join(", ")})` : ""}`);
  const out: Record<string, string> = {};
  for (const [k, p] of Object.entries(d.params)) {
    const v = given[k] ?? p.default;
    if (v === undefined) throw new ParamError(`params.${k}`, "required parameter is missing");
    // Anchored: a pattern describes the whole value, so "^[a-z]+" cannot be passed "ok; rm -rf /".
    if (!new RegExp(`^(?:${p.pattern})$`).test(v)) throw new ParamError(`params.${k}`, `does not match ${p.pattern}`, v);
    out[k] = v;
  }
  return out;
}

export function substitute(text: string, params: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (m, k: string) => params[k] ?? m);
}

export function definitionSpec(d: TaskDefinitionConfig, q: TaskQueueConfig, params: Readonly<Record<string, string>>): TaskSpec {
  return {
    name: d.name,
    command: substitute(d.command, params),
    args: d.args.map((a) => substitute(a, params)),
    env: Object.fromEntries(Object.entries(d.env).map(([k, v]) => [k, substitute(v, params)])),
    ...(d.cwd ? { cwd: d.cwd } : {}),
    priority: d.priority,
    timeoutMs: d.timeout,
    retries: { max: d.retries.max, backoffMs: d.retries.backoff, maxBackoffMs: d.retries.max_backoff },
    ...(d.concurrency_key ? { concurrencyKey: d.concurrency_key } : {}),
    concurrencyLimit: d.concurrency_limit,
    killTimeoutMs: d.kill_timeout,
    outputLimit: d.output_limit ?? q.output_limit,
    definition: d.name,
    ...(Object.keys(params).length > 0 ? { params } : {}),
  };
}

const SECRET_NAME = /secret|token|passw|key|credential|auth|private/i;
export const REDACTED = "[redacted]";

/** Env values whose names look secret, replaced: for every API answer, log line and event. */
export function redactEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) out[k] = SECRET_NAME.test(k) ? REDACTED : v;
  return out;
}

/** Cross-field rules of `tasks:` and `alerts:`: unique names, placeholders that name a declared parameter. */
export function taskAndAlertRules(tasks: readonly TaskDefinitionConfig[] | undefined, receivers: ReadonlyArray<{ name: string }> | undefined): Array<{ path: string; message: string; value?: string }> {
  const out: Array<{ path: string; message: string; value?: string }> = [];
  const seen = new Map<string, number>();
  (tasks ?? []).forEach((t, i) => {
    const first = seen.get(t.name);
    if (first !== undefined) out.push({ path: `tasks[${i}].name`, message: `duplicate task name (also at tasks[${first}].name)`, value: JSON.stringify(t.name) });
    else seen.set(t.name, i);
    const texts: Array<[string, string]> = [["command", t.command], ...t.args.map((a, j) => [`args[${j}]`, a] as [string, string]), ...Object.entries(t.env).map(([k, v]) => [`env.${k}`, v] as [string, string])];
    for (const [where, text] of texts) {
      for (const m of text.matchAll(PLACEHOLDER)) {
        if (!(m[1]! in t.params)) out.push({ path: `tasks[${i}].${where}`, message: `{{${m[1]}}} names no parameter of this task (declare it under params)`, value: JSON.stringify(text) });
      }
    }
  });
  const rs = new Map<string, number>();
  (receivers ?? []).forEach((r, i) => {
    const first = rs.get(r.name);
    if (first !== undefined) out.push({ path: `alerts.receivers[${i}].name`, message: `duplicate receiver name (also at alerts.receivers[${first}].name)`, value: JSON.stringify(r.name) });
    else rs.set(r.name, i);
  });
  return out;
}
