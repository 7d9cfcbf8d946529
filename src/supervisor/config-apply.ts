// Applying a new config while running, for SIGHUP (the file) and PATCH /v1/config (a merged document) alike:
// decode whole, prepare what can fail, refuse restart-only changes, then commit. Every rejection goes through one
// path (an event naming the fields, and a result the caller maps to its answer); a rejected config changes nothing.
import type { ApplyResult } from "../api/config.ts";
import { type ConfigProblem, decodeConfig, loadConfigFile } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { EventInput } from "../state/event-bus.ts";
import type { JwtCache } from "./jwt-cache.ts";

/** Settings that need a restart: the listeners and files opened at start. */
export const RESTART_ONLY: ReadonlyArray<readonly [string, (c: Config) => unknown]> = [
  ["agent.data_dir", (c) => c.agent.data_dir],
  ["agent.balancer_workers", (c) => c.agent.balancer_workers],
  ["api.listen", (c) => c.api.listen],
  ["api.tls", (c) => c.api.tls],
  ["dns", (c) => [c.dns.enabled, c.dns.listen, c.dns.domain]],
  ["telemetry", (c) => c.telemetry],
];

/** The sections a running agent re-applies; the config's other sections are all restart-only. */
export const RELOADABLE = ["agent", "api", "apps", "checks", "balancers", "services", "discovery"] as const;
export type ReloadableSection = (typeof RELOADABLE)[number];

export interface ConfigApplyDeps {
  current(): Config;
  readonly jwt: Pick<JwtCache, "prepare" | "commit">;
  /** Makes `next` the running config and acts on the sections that changed; called only for an accepted config. */
  commit(next: Config, raw: unknown, changed: readonly ReloadableSection[]): void;
  publish(e: EventInput): void;
  /** Reads a config file (default: loadConfigFile); injectable for tests. */
  load?: typeof loadConfigFile;
}

export interface ConfigApplier {
  /** Validates a whole raw document and applies it, or changes nothing. */
  apply(raw: unknown, source: string): ApplyResult;
  /** Re-reads a config file (with env overrides) and applies it, or changes nothing. */
  applyFile(path: string, env?: Record<string, string | undefined>): ApplyResult;
}

/** "path: message" of the first few problems, so an event or log line names the field without its data. */
export const problemList = (problems: readonly ConfigProblem[]) =>
  problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`).join("; ") + (problems.length > 3 ? `; and ${problems.length - 3} more` : "");

export function createConfigApplier(deps: ConfigApplyDeps): ConfigApplier {
  const load = deps.load ?? loadConfigFile;

  const reject = (source: string, status: 400 | 409, problems: readonly ConfigProblem[], message: string): ApplyResult => {
    deps.publish({
      type: "config.rejected",
      source: "supervisor",
      target: "config",
      severity: "error",
      message: `config from ${source} rejected (${problemList(problems)}); the running config is unchanged`,
      data: { problems },
    });
    return { ok: false, status, problems, message };
  };

  const apply = (raw: unknown, source: string): ApplyResult => {
    const decoded = decodeConfig(raw, source);
    if (!decoded.ok) return reject(source, 400, decoded.error.problems, `the config has ${decoded.error.problems.length} problem(s); nothing was changed`);
    const next = decoded.config;
    let jwt: ReturnType<JwtCache["prepare"]>;
    try {
      jwt = deps.jwt.prepare(next);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return reject(source, 400, [{ path: "api.jwt", message }], `api.jwt: ${message}; nothing was changed`);
    }
    const current = deps.current();
    const restart: ConfigProblem[] = [];
    for (const [path, get] of RESTART_ONLY) {
      if (JSON.stringify(get(next)) !== JSON.stringify(get(current))) restart.push({ path, message: "changing this needs an agent restart" });
    }
    if (restart.length > 0) return reject(source, 409, restart, `${restart.map((p) => p.path).join(", ")} can only change with a restart; nothing was changed`);
    const changed = RELOADABLE.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(current[k]));
    deps.jwt.commit(jwt);
    deps.commit(next, raw, changed);
    deps.publish({ type: "config.reloaded", source: "supervisor", target: "config", severity: "info", message: `config applied from ${source}; changed: ${changed.join(", ") || "nothing"}`, data: { reloaded: changed } });
    return { ok: true, reloaded: [...changed] };
  };

  return {
    apply,
    applyFile(path, env) {
      const result = load(path, env);
      if (!result.ok) return reject(path, 400, result.error.problems, result.error.message);
      return apply(result.loaded.raw, path);
    },
  };
}
