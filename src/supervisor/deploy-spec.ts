// A new revision asked for through the API or CLI: a merge patch over the app's target revision, validated as the
// whole config would be (every problem, with the field's path), so a bad spec creates no revision.
import { REVISION_KEYS, revisionFieldsOf } from "../config/revision.ts";
import { decodeConfig } from "../config/load.ts";
import type { ConfigProblem } from "../config/problems.ts";
import type { Config } from "../config/schema.ts";

export type SpecResult = { ok: true; fields: Record<string, unknown> } | { ok: false; problems: ConfigProblem[] };

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * `patch` keys are revision fields (command, args, cwd, env, readiness, max_memory, checks); `env` merges key by
 * key (null removes one), `null` removes an optional field, anything else replaces. `target` is the revision the
 * app runs now when it differs from the config's own fields (a rollback, an earlier API deploy).
 */
export function prepareSpec(raw: unknown, config: Config, app: string, patch: Record<string, unknown>, target: Record<string, unknown> | undefined, cores: number): SpecResult {
  const problems: ConfigProblem[] = [];
  for (const k of Object.keys(patch)) {
    if (!(REVISION_KEYS as readonly string[]).includes(k)) {
      problems.push({ path: `spec.${k}`, message: `"${k}" is not part of a revision (those are ${REVISION_KEYS.join(", ")}); replicas, ports, scaling and the rest change through the config` });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const doc = isObj(raw) ? raw : {};
  const apps = Array.isArray(doc.apps) ? [...(doc.apps as unknown[])] : [];
  const i = apps.findIndex((a) => isObj(a) && a.name === app);
  const cfgApp = config.apps.find((a) => a.name === app);
  if (i < 0 || !cfgApp) return { ok: false, problems: [{ path: "", message: `no app named ${app} in the running config` }] };
  const entry: Record<string, unknown> = { ...(apps[i] as Record<string, unknown>) };
  if (target) {
    for (const k of REVISION_KEYS) delete entry[k];
    Object.assign(entry, target);
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === "env" && isObj(v)) {
      const env: Record<string, unknown> = { ...(isObj(entry.env) ? entry.env : {}) };
      for (const [ek, ev] of Object.entries(v)) {
        if (ev === null) delete env[ek];
        else env[ek] = ev;
      }
      entry.env = env;
    } else if (v === null) delete entry[k];
    else entry[k] = v;
  }
  apps[i] = entry;
  const decoded = decodeConfig({ ...doc, apps }, "the deployment", { cores });
  if (!decoded.ok) {
    const prefix = `apps[${i}].`;
    return { ok: false, problems: decoded.error.problems.map((p) => ({ ...p, path: p.path.startsWith(prefix) ? `spec.${p.path.slice(prefix.length)}` : p.path })) };
  }
  return { ok: true, fields: revisionFieldsOf(decoded.config.apps[i]!) };
}
