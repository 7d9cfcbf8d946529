// Loads the config: file (YAML or JSON) + .env + POLIS_* environment overrides, decoded once, every problem collected.
import { Cause, Exit, Schema, SchemaIssue } from "effect";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseDocument } from "yaml";
import { Config } from "./schema.ts";
import { checkSemantics } from "./semantics.ts";

export interface ConfigProblem {
  /** Where: "apps[0].port", or "POLIS_API_LISTEN" for an environment override. */
  readonly path: string;
  readonly message: string;
  /** The offending value, rendered short; absent for missing keys. */
  readonly value?: string;
}

export class ConfigError extends Error {
  readonly _tag = "ConfigError";
  constructor(
    readonly source: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${formatProblems(problems)}`);
  }
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => `  - ${p.path || "(root)"}: ${p.message}${p.value === undefined ? "" : ` (got ${p.value})`}`)
    .join("\n");
}

/** Scalar settings that POLIS_<SECTION>_<KEY> may override; the table is the contract, documented in README. */
export const ENV_OVERRIDES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["POLIS_AGENT_NAME", ["agent", "name"]],
  ["POLIS_AGENT_DATA_DIR", ["agent", "data_dir"]],
  ["POLIS_AGENT_LOG_LEVEL", ["agent", "log_level"]],
  ["POLIS_AGENT_BALANCER_WORKERS", ["agent", "balancer_workers"]],
  ["POLIS_AGENT_SHUTDOWN_TIMEOUT", ["agent", "shutdown_timeout"]],
  ["POLIS_AGENT_ALLOW_FAULT_INJECTION", ["agent", "allow_fault_injection"]],
  ["POLIS_API_LISTEN", ["api", "listen"]],
  ["POLIS_API_BODY_LIMIT", ["api", "body_limit"]],
  ["POLIS_API_ALLOW_API_COMMAND_CHECKS", ["api", "allow_api_command_checks"]],
  ["POLIS_DNS_ENABLED", ["dns", "enabled"]],
  ["POLIS_DNS_LISTEN", ["dns", "listen"]],
  ["POLIS_DNS_TTL", ["dns", "ttl"]],
  ["POLIS_TELEMETRY_PROMETHEUS", ["telemetry", "prometheus"]],
];

/** POLIS_API_TOKEN adds an admin token without writing it into the file. */
export const ENV_TOKEN = "POLIS_API_TOKEN";

export interface LoadedConfig {
  readonly config: Config;
  readonly source: string;
  /** The decoded input before defaults (used to show the running config and to diff reloads). */
  readonly raw: unknown;
}

/** Parse KEY=VALUE lines of a .env file; existing environment variables win. */
export function readDotEnv(dir: string, env: Record<string, string | undefined>): Record<string, string | undefined> {
  const file = resolve(dir, ".env");
  if (!existsSync(file)) return env;
  const out = { ...env };
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let v = m[2]!;
    if (/^(["']).*\1$/.test(v)) v = v.slice(1, -1);
    if (out[m[1]!] === undefined) out[m[1]!] = v;
  }
  return out;
}

function coerceScalar(v: string): unknown {
  if (v === "true") return true;
  if (v === "false") return false;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return v;
}

function render(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function pathString(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const k of path) out += typeof k === "number" ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out;
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): { found: boolean; value?: unknown } {
  let cur: any = root;
  for (const k of path) {
    if (cur === null || typeof cur !== "object" || !(k in cur)) return { found: false };
    cur = cur[k as any];
  }
  return { found: true, value: cur };
}

const decode = Schema.decodeUnknownExit(Config, { errors: "all", onExcessProperty: "error" });
const formatter = SchemaIssue.makeFormatterStandardSchemaV1();

/** Decode an already-parsed document. Never throws: returns the config or every problem. */
export function decodeConfig(
  input: unknown,
  source: string,
  envPaths: ReadonlyMap<string, string> = new Map(),
): { ok: true; config: Config } | { ok: false; error: ConfigError } {
  if (input === null || input === undefined) {
    return { ok: false, error: new ConfigError(source, [{ path: "", message: "the config is empty; expected a mapping of sections (agent, api, apps, ...)" }]) };
  }
  if (typeof input !== "object" || Array.isArray(input)) {
    return { ok: false, error: new ConfigError(source, [{ path: "", message: "expected a mapping of sections (agent, api, apps, ...)", value: render(input) }]) };
  }
  const exit = decode(input);
  if (Exit.isFailure(exit)) {
    const err = Cause.squash(exit.cause) as { issue?: SchemaIssue.Issue; message?: string };
    const problems: ConfigProblem[] = [];
    if (err && err.issue) {
      for (const issue of formatter(err.issue).issues) {
        const path = (issue.path ?? []).map((p) => (typeof p === "object" && p !== null ? (p as any).key : p)) as PropertyKey[];
        const ps = pathString(path);
        const at = valueAt(input, path);
        let message = issue.message;
        if (message === "Expected no excess property") message = `unknown key "${String(path[path.length - 1])}"`;
        if (message === "Missing key") message = "required field is missing";
        const envName = envPaths.get(ps);
        problems.push({
          path: envName ? `${envName} (${ps})` : ps,
          message,
          ...(at.found && message !== `unknown key "${String(path[path.length - 1])}"` ? { value: render(at.value) } : {}),
        });
      }
    } else {
      problems.push({ path: "", message: String(err?.message ?? err) });
    }
    return { ok: false, error: new ConfigError(source, problems) };
  }
  const semantic = checkSemantics(exit.value);
  if (semantic.length > 0) return { ok: false, error: new ConfigError(source, semantic) };
  return { ok: true, config: exit.value };
}

/** Parse YAML (JSON is YAML) text, reporting syntax errors with line and column. */
export function parseConfigText(text: string, source: string): { ok: true; value: unknown } | { ok: false; error: ConfigError } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      error: new ConfigError(
        source,
        doc.errors.map((e) => {
          const pos = e.linePos?.[0];
          return { path: pos ? `line ${pos.line}, column ${pos.col}` : "", message: e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "") };
        }),
      ),
    };
  }
  return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) };
}

/** Apply POLIS_* overrides onto a parsed document (copying what it touches). */
export function applyEnv(input: unknown, env: Record<string, string | undefined>): { value: unknown; envPaths: Map<string, string> } {
  const envPaths = new Map<string, string>();
  if (input === null || typeof input !== "object" || Array.isArray(input)) return { value: input, envPaths };
  const root: any = { ...(input as object) };
  for (const [name, path] of ENV_OVERRIDES) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    const [section, key] = path as [string, string];
    root[section] = root[section] && typeof root[section] === "object" ? { ...root[section] } : {};
    root[section][key] = coerceScalar(v);
    envPaths.set(`${section}.${key}`, name);
  }
  const token = env[ENV_TOKEN];
  if (token) {
    root.api = root.api && typeof root.api === "object" ? { ...root.api } : {};
    const tokens = Array.isArray(root.api.tokens) ? root.api.tokens : [];
    root.api.tokens = [...tokens, { name: "env", token, role: "admin" }];
    envPaths.set(`api.tokens[${tokens.length}].token`, ENV_TOKEN);
  }
  return { value: root, envPaths };
}

/** Read, parse, override and decode a config file. Never throws for bad input: the error lists every problem. */
export function loadConfigFile(
  file: string,
  env: Record<string, string | undefined> = readDotEnv(process.cwd(), process.env),
): { ok: true; loaded: LoadedConfig } | { ok: false; error: ConfigError } {
  const source = resolve(file);
  let text: string;
  try {
    text = readFileSync(source, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : String(e);
    return { ok: false, error: new ConfigError(source, [{ path: "", message: `cannot read the config file: ${why}` }]) };
  }
  return loadConfigText(text, source, env);
}

export function loadConfigText(
  text: string,
  source: string,
  env: Record<string, string | undefined> = {},
): { ok: true; loaded: LoadedConfig } | { ok: false; error: ConfigError } {
  if (text.trim() === "") {
    return { ok: false, error: new ConfigError(source, [{ path: "", message: "the config file is empty; expected a mapping of sections (agent, api, apps, ...)" }]) };
  }
  const parsed = parseConfigText(text, source);
  if (!parsed.ok) return parsed;
  const { value, envPaths } = applyEnv(parsed.value, env);
  const decoded = decodeConfig(value, source, envPaths);
  if (!decoded.ok) return decoded;
  return { ok: true, loaded: { config: decoded.config, source, raw: value } };
}
