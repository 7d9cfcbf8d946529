// What a change through the admin API may not touch unless the config file sets api.allow_api_commands: true:
// whatever decides which program runs and with what (an app's command, args, cwd, env, logs, driver and
// container settings; a command check; a new app; the task definitions). Everything else about an app (replicas,
// scaling, restart and stop policy, ports, readiness, deploy settings, limits, non-command checks) stays open to
// PATCH /v1/config, as does the rest of the config. The same rule holds for the spec of POST .../deployments.
import type { ConfigProblem } from "./problems.ts";
import type { Config } from "./schema.ts";

/** App fields an API change may set freely; any other field of an app is part of "what runs". */
const OPEN_APP_FIELDS: ReadonlySet<string> = new Set([
  "name", "replicas", "port", "readiness", "restart", "stop", "max_memory", "watchdog", "scaling", "deploy", "resources", "checks",
]);

const REFUSAL = "the admin API may not change what runs unless the config file sets api.allow_api_commands: true";

type Obj = Record<string, unknown>;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const commandChecks = (checks: unknown) => (Array.isArray(checks) ? checks.filter((c) => (c as Obj)?.kind === "command") : []);

/** Problems (path, message) for every command-bearing change from `current` to `next`; empty when there is none. */
export function commandChanges(current: Config, next: Config): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const before = new Map(current.apps.map((a) => [a.name, a as unknown as Obj]));
  next.apps.forEach((app, i) => {
    const at = `apps[${i}]`;
    const was = before.get(app.name);
    if (!was) {
      out.push({ path: at, message: `adding app "${app.name}" starts its command: ${REFUSAL}` });
      return;
    }
    const now = app as unknown as Obj;
    for (const k of new Set([...Object.keys(was), ...Object.keys(now)])) {
      if (!OPEN_APP_FIELDS.has(k) && !same(was[k], now[k])) out.push({ path: `${at}.${k}`, message: REFUSAL });
    }
    if (!same(commandChecks(was.checks), commandChecks(now.checks))) out.push({ path: `${at}.checks`, message: `command checks run programs: ${REFUSAL}` });
  });
  if (!same(current.tasks, next.tasks)) out.push({ path: "tasks", message: `task definitions run commands: ${REFUSAL}` });
  return out;
}

/** The same rule for a deployment's merge patch of revision fields (POST /v1/apps/:name/deployments). */
export function commandFieldsOfPatch(patch: Record<string, unknown>): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const k of Object.keys(patch)) {
    if (!OPEN_APP_FIELDS.has(k)) out.push({ path: `spec.${k}`, message: REFUSAL });
    else if (k === "checks" && commandChecks(patch[k]).length > 0) out.push({ path: "spec.checks", message: `command checks run programs: ${REFUSAL}` });
  }
  return out;
}
