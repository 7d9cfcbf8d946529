// Applying a new config while running, for SIGHUP / POST /v1/reload (the file, with the overlay) and PATCH
// /v1/config (a merged document) alike: decode whole, prepare what can fail, refuse what the settings table says
// needs a restart (409) or only the file may change (403), refuse an API change that ends its caller's own access
// (403), persist what must survive, then commit. Every rejection goes through one path (an event naming the
// fields, and a result the caller maps to its answer); a rejected config changes nothing.
import type { ApplyResult } from "../api/config.ts";
import { type ConfigProblem, decodeConfig, loadConfigFile } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { composePatches, type Overlay, strategicMerge } from "../config/overlay.ts";
import { changedPaths, ruleFor, SETTINGS } from "../config/settings.ts";
import { commandChanges } from "../config/api-commands.ts";
import type { EventInput } from "../state/event-bus.ts";
import type { JwtCache } from "./jwt-cache.ts";
import { checkShared, mergeShared, sharedPath } from "../cluster/shared-config.ts";
import type { SharedDocument, SharedRecord } from "../protocol/cluster.ts";
import type { SharedState } from "../api/cluster.ts";

/** Settings that need a restart, from the one settings table. */
export const RESTART_ONLY: readonly string[] = SETTINGS.filter((s) => s.mode === "restart").map((s) => s.path);

/** The sections a running agent re-applies (dns: its ttl); telemetry is restart-only as a whole. */
export const RELOADABLE = ["agent", "api", "apps", "checks", "balancers", "services", "dns", "discovery", "alerts", "tasks", "task_queue", "policies", "healing"] as const;
export type ReloadableSection = (typeof RELOADABLE)[number];

/** Who asked for an API change, so a change that ends their own access can be refused. */
export interface Caller {
  readonly name: string;
  readonly role: string;
  /** The bearer token presented. */
  readonly credential?: string;
}

export interface ApplyOptions {
  /** "api": file-only settings are refused, and so is a change that ends the caller's access. Default "file". */
  readonly origin?: "file" | "api";
  readonly caller?: Caller;
  /** Runs after every check passed and before the commit (persist the overlay); a throw rejects the change. */
  readonly beforeCommit?: () => void;
}

export interface ConfigApplyDeps {
  current(): Config;
  readonly jwt: Pick<JwtCache, "prepare" | "commit">;
  /** Makes `next` the running config and acts on the sections that changed; called only for an accepted config. */
  commit(next: Config, raw: unknown, changed: readonly ReloadableSection[]): void;
  publish(e: EventInput): void;
  /** Tokens that exist whatever the config says (the local admin token). */
  extraTokens?(): ReadonlyArray<{ token: string; role: string }>;
  /** Reads a config file (default: loadConfigFile with the overlay); injectable for tests. */
  load?: typeof loadConfigFile;
  /** Where accepted PATCHes are kept; without it PATCH applies but does not persist. */
  readonly overlay?: Overlay;
}

/** The documents behind the running config. */
export interface ConfigDocuments {
  /** What was decoded: the file with environment overrides and the overlay. */
  readonly raw: unknown;
  /** The file with environment overrides, without the overlay. */
  readonly base: unknown;
  /** The overlay's composed patch, when there is one. */
  readonly overlay: unknown;
}

export interface ConfigApplier {
  /** Validates a whole raw document and applies it, or changes nothing. */
  apply(raw: unknown, source: string, options?: ApplyOptions): ApplyResult;
  /** Re-reads a config file (with env overrides and the overlay) and applies it, or changes nothing. */
  applyFile(path: string, env?: Record<string, string | undefined>): ApplyResult;
  /** PATCH /v1/config: a merge patch over the running document, persisted in the overlay when accepted. */
  patch(patch: unknown, caller?: Caller): ApplyResult;
  /** DELETE /v1/config/overlay: back to the file alone; `removed` is false when there was no overlay. */
  dropOverlay(caller?: Caller): ApplyResult & { removed?: boolean };
  documents(): ConfigDocuments;
  /**
   * The cluster-wide config from etcd (null: none) laid under the agent's own document and applied like a reload; a
   * rejected one leaves the running config and the previous shared layer as they were.
   */
  applyShared(record: SharedRecord | null, revision: string): ApplyResult;
  /** PUT /v1/cluster/config, before the write: the document's shape, this agent's command switch, then the whole merged config. */
  checkShared(doc: unknown): ApplyResult;
  /** The shared layer this agent runs, and how its last cluster config fared here. */
  sharedState(): SharedState;
}


/** "path: message" of the first few problems, so an event or log line names the field without its data. */
export const problemList = (problems: readonly ConfigProblem[]) =>
  problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`).join("; ") + (problems.length > 3 ? `; and ${problems.length - 3} more` : "");

/** Whether a caller keeps the admin role under `next`; a reason when not. */
function lockout(caller: Caller, current: Config, next: Config, extra: ReadonlyArray<{ token: string; role: string }>): ConfigProblem | undefined {
  if (caller.name.startsWith("jwt")) {
    if (JSON.stringify(current.api.jwt ?? null) === JSON.stringify(next.api.jwt ?? null)) return undefined;
    return { path: "api.jwt", message: `the caller (${caller.name}) signed in with a JWT: changing api.jwt through the API could end its own access; edit the file and reload` };
  }
  if (!caller.credential) return undefined;
  const after = [...next.api.tokens, ...extra].find((t) => t.token === caller.credential);
  if (after?.role === "admin") return undefined;
  return {
    path: "api.tokens",
    message: after
      ? `this change makes the caller's own token (${caller.name}) ${after.role}: it could not change the config again; keep it admin, or edit the file and reload`
      : `this change removes the caller's own token (${caller.name}): it would be locked out; keep that token, or edit the file and reload`,
  };
}

export function createConfigApplier(deps: ConfigApplyDeps, initial: Partial<ConfigDocuments> = {}): ConfigApplier {
  const load = deps.load ?? loadConfigFile;
  let raw: unknown = initial.raw ?? {};
  let base: unknown = initial.base ?? raw;
  let overlay: unknown = initial.overlay;
  let shared: { record: SharedRecord; revision: string } | undefined;
  let sharedLast: SharedState["last"];
  let sharedNotes: { shadowed: string[]; ignored: string[] } = { shadowed: [], ignored: [] };

  const reject = (source: string, status: 400 | 403 | 409 | 503, problems: readonly ConfigProblem[], message: string): ApplyResult => {
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

  const apply = (nextRaw: unknown, source: string, options: ApplyOptions = {}): ApplyResult => {
    // The cluster-wide sections sit under this agent's own document: its items win by name.
    const merged = mergeShared(nextRaw, shared?.record.document);
    const decoded = decodeConfig(merged.raw, source);
    if (!decoded.ok) {
      const problems = shared ? decoded.error.problems.map((p) => sharedPath(p, merged.placed)) : decoded.error.problems;
      return reject(source, 400, problems, `the config has ${problems.length} problem(s); nothing was changed`);
    }
    const next = decoded.config;
    let jwt: ReturnType<JwtCache["prepare"]>;
    try {
      jwt = deps.jwt.prepare(next);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return reject(source, 400, [{ path: "api.jwt", message }], `api.jwt: ${message}; nothing was changed`);
    }
    const current = deps.current();
    const paths = changedPaths(current, next);
    const restart = new Map<string, ConfigProblem>();
    const fileOnly = new Map<string, ConfigProblem>();
    for (const p of paths) {
      const rule = ruleFor(p);
      if (!rule) {
        restart.set(p, { path: p, message: "this setting has no entry in the settings table; changing it needs an agent restart" });
        continue;
      }
      if (options.origin === "api" && rule.fileOnly) fileOnly.set(rule.path, { path: rule.path, message: `only the config file may change this switch (it lets the API ${/command|tasks/.test(rule.path) ? "run programs" : "break the agent on purpose"}); edit the file and reload` });
      else if (rule.mode === "restart") restart.set(rule.path, { path: rule.path, message: `changing this needs an agent restart: ${rule.why}` });
    }
    if (fileOnly.size > 0) return reject(source, 403, [...fileOnly.values()], `${[...fileOnly.keys()].join(", ")} can only be changed in the config file; nothing was changed`);
    if (options.origin === "api" && !current.api.allow_api_commands) {
      const commands = commandChanges(current, next);
      if (commands.length > 0) return reject(source, 403, commands, `${commands.map((p) => p.path).join(", ")}: the API may not change what runs unless the config file sets api.allow_api_commands: true; nothing was changed`);
    }
    if (options.origin === "api" && options.caller) {
      const locked = lockout(options.caller, current, next, deps.extraTokens?.() ?? []);
      if (locked) return reject(source, 403, [locked], `${locked.message}; nothing was changed`);
    }
    if (restart.size > 0) return reject(source, 409, [...restart.values()], `${[...restart.keys()].join(", ")} can only change with a restart; nothing was changed`);
    const sections = new Set(paths.map((p) => p.split(/[.[]/)[0]!));
    const changed = RELOADABLE.filter((k) => sections.has(k));
    try {
      options.beforeCommit?.();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return reject(source, 503, [{ path: "", message: `cannot persist the change: ${message}` }], `cannot persist the change (${message}); nothing was changed`);
    }
    deps.jwt.commit(jwt);
    raw = nextRaw;
    sharedNotes = { shadowed: merged.shadowed, ignored: merged.ignored };
    deps.commit(next, merged.raw, changed);
    deps.publish({ type: "config.reloaded", source: "supervisor", target: "config", severity: "info", message: `config applied from ${source}; changed: ${changed.join(", ") || "nothing"}`, data: { reloaded: changed } });
    return { ok: true, reloaded: [...changed] };
  };

  return {
    apply,
    applyFile(path, env) {
      const result = load(path, env, { overlay: true });
      if (!result.ok) return reject(path, 400, result.error.problems, result.error.message);
      const r = apply(result.loaded.raw, path);
      if (r.ok) {
        base = result.loaded.base;
        overlay = result.loaded.overlay?.patch;
      }
      return r;
    },
    patch(patch, caller) {
      const composed = composePatches(overlay, patch);
      const r = apply(strategicMerge(raw, patch), "PATCH /v1/config", {
        origin: "api",
        ...(caller ? { caller } : {}),
        // Persisted before it is acted on: a crash right after the answer still restarts with the change.
        beforeCommit: () => deps.overlay?.write(composed),
      });
      if (r.ok && deps.overlay) overlay = composed;
      return r;
    },
    dropOverlay(caller) {
      if (overlay === undefined) return { ok: true, reloaded: [], removed: false };
      const r = apply(base, "DELETE /v1/config/overlay", { origin: "api", ...(caller ? { caller } : {}), beforeCommit: () => deps.overlay?.remove() });
      if (!r.ok) return r;
      overlay = undefined;
      return { ...r, removed: true };
    },
    documents: () => ({ raw, base, overlay }),
    applyShared(record, revision) {
      if (record === null && shared === undefined) return { ok: true, reloaded: [] };
      if (record !== null && shared && shared.revision === revision) return { ok: true, reloaded: [] };
      const prev = shared;
      shared = record ? { record, revision } : undefined;
      const r = apply(raw, `the cluster config (etcd revision ${revision}${record ? `, written by ${record.node}` : ", deleted"})`);
      if (!r.ok) shared = prev;
      sharedLast = r.ok ? { revision, applied: true } : { revision, applied: false, problems: r.problems, message: r.message };
      return r;
    },
    checkShared(doc) {
      const source = "PUT /v1/cluster/config";
      const shape = checkShared(doc);
      if (shape.length > 0) return { ok: false, status: 400, problems: shape, message: `the cluster config has ${shape.length} problem(s); nothing was written` };
      const d = doc as SharedDocument;
      const current = deps.current();
      if ((d.apps?.length ?? 0) > 0 && !current.api.allow_api_commands) {
        const problems = (d.apps ?? []).map((a, i) => ({ path: `apps[${i}]`, message: `shared app "${String(a.name)}" runs a command: the admin API may not change what runs unless the config file sets api.allow_api_commands: true` }));
        return { ok: false, status: 403, problems, message: "apps: the API may not change what runs unless the config file sets api.allow_api_commands: true; nothing was written" };
      }
      const merged = mergeShared(raw, d);
      const decoded = decodeConfig(merged.raw, source);
      if (!decoded.ok) {
        const problems = decoded.error.problems.map((p) => sharedPath(p, merged.placed));
        return { ok: false, status: 400, problems, message: `the cluster config has ${problems.length} problem(s) (checked with this agent's own config); nothing was written` };
      }
      const restart = changedPaths(current, decoded.config).map(ruleFor).filter((r) => r?.mode === "restart");
      if (restart.length > 0) return { ok: false, status: 409, problems: restart.map((r) => ({ path: r!.path, message: `changing this needs an agent restart: ${r!.why}` })), message: "the cluster config changes settings that need a restart; nothing was written" };
      return { ok: true, reloaded: [] };
    },
    sharedState: () => ({ ...(shared ? { record: shared.record, revision: shared.revision } : {}), ...(sharedLast ? { last: sharedLast } : {}), shadowed: sharedNotes.shadowed, ignored: sharedNotes.ignored }),
  };
}
