// Loads the config: file (YAML or JSON) + .env + POLIS_* environment overrides, decoded once, every problem collected.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { decodeConfig } from "./decode.ts";
import { overlayAt, overlayPaths, strategicMerge } from "./overlay.ts";
import { ConfigError, pathString } from "./problems.ts";
import { type Located, parseConfigText } from "./parse.ts";
import type { Config } from "./schema.ts";

export { type ConfigProblem, ConfigError, formatProblems } from "./problems.ts";
export { decodeConfig } from "./decode.ts";
export { readDotEnv } from "./dotenv.ts";
export { parseConfigText } from "./parse.ts";

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

/** agent.data_dir's default (the schema says the same). */
const DEFAULT_DATA_DIR = "./data";

/** POLIS_API_TOKEN adds an admin token without writing it into the file. */
export const ENV_TOKEN = "POLIS_API_TOKEN";

export interface LoadedConfig {
  readonly config: Config;
  readonly source: string;
  /** The document decoded: the file, with environment overrides, with the overlay on top (before defaults). */
  readonly raw: unknown;
  /** The file with environment overrides, without the overlay. */
  readonly base: unknown;
  /** The overlay applied, when there was one. */
  readonly overlay?: { readonly file: string; readonly patch: unknown };
}

export interface LoadOptions {
  /** Apply <data_dir>/config-overlay.json (accepted PATCH /v1/config changes) on top of the file: the agent does. */
  readonly overlay?: boolean;
}

/** agent.data_dir as the document says it (defaults are not applied yet). */
function dataDirOf(doc: unknown): string {
  const agent = doc && typeof doc === "object" ? (doc as { agent?: unknown }).agent : undefined;
  const dir = agent && typeof agent === "object" ? (agent as { data_dir?: unknown }).data_dir : undefined;
  return typeof dir === "string" && dir !== "" ? dir : DEFAULT_DATA_DIR;
}

function coerceScalar(v: string): unknown {
  if (v === "true") return true;
  if (v === "false") return false;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return v;
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
  env: Record<string, string | undefined> = process.env,
  options: LoadOptions = {},
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
  return loadConfigText(text, source, env, options);
}

export function loadConfigText(
  text: string,
  source: string,
  env: Record<string, string | undefined> = {},
  options: LoadOptions = {},
): { ok: true; loaded: LoadedConfig } | { ok: false; error: ConfigError } {
  if (text.trim() === "") {
    return { ok: false, error: new ConfigError(source, [{ path: "", message: "the config file is empty; expected a mapping of sections (agent, api, apps, ...)" }]) };
  }
  const parsed = parseConfigText(text, source);
  if (!parsed.ok) return parsed;
  const { value, envPaths } = applyEnv(parsed.parsed.value, env);
  let raw = value;
  let overlay: LoadedConfig["overlay"];
  if (options.overlay) {
    const o = overlayAt(dataDirOf(value));
    const read = o.read();
    if (!read.ok) return { ok: false, error: new ConfigError(source, [read.problem]) };
    if (read.patch !== undefined) {
      raw = strategicMerge(value, read.patch);
      overlay = { file: o.file, patch: read.patch };
    }
  }
  const fromOverlay = overlay ? new Set(overlayPaths(value, raw)) : undefined;
  // A value the overlay set is not where the file says: name the overlay instead of a line.
  const locate: Located = (path, key) => {
    if (fromOverlay && [...fromOverlay].some((p) => pathString(path).startsWith(p))) return undefined;
    return parsed.parsed.locate(path, key);
  };
  const decoded = decodeConfig(raw, source, { envPaths, locate });
  if (!decoded.ok) {
    if (!overlay) return decoded;
    const problems = decoded.error.problems.map((p) => ([...fromOverlay!].some((o) => p.path.startsWith(o)) ? { ...p, message: `${p.message} (set by the overlay ${overlay!.file}; DELETE /v1/config/overlay or remove the file to drop it)` } : p));
    return { ok: false, error: new ConfigError(source, problems) };
  }
  return { ok: true, loaded: { config: decoded.config, source, raw, base: value, ...(overlay ? { overlay } : {}) } };
}
