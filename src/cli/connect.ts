// How client commands find the agent and pick a token. URL: --url, POLIS_API_URL, else the config's api.listen.
// Token: --token, POLIS_API_TOKEN, else from the config: the local admin token (<data_dir>/admin.token, which the agent
// uses only when no token is configured) or the least privileged configured token that has the command's role.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, type PolisClient } from "../client/client.ts";
import { formatProblems, loadConfigFile, readDotEnv } from "../config/load.ts";
import type { Role } from "./args.ts";

const RANK: Record<Role, number> = { read: 1, operator: 2, admin: 3 };
export const DEFAULT_CONFIG = "config/agent.yaml";

/** The agent cannot be located or no usable token exists: exit 1 with this message. */
export class ConnectError extends Error {
  readonly _tag = "ConnectError";
}

export interface ConnectInput {
  readonly command: string;
  readonly role: Role;
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  readonly config?: string | undefined;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface Connection {
  readonly url: string;
  readonly token?: string;
  /** Where the token came from, for error messages ("--token", "config/agent.yaml token ops (operator)", ...). */
  readonly tokenSource: string;
}

export function resolveConnection(input: ConnectInput): Connection {
  const cwd = input.cwd ?? process.cwd();
  const env = readDotEnv(cwd, input.env ?? process.env);
  let url = input.url ?? env.POLIS_API_URL;
  if (input.token) return { url: url ?? configUrl(input, env) ?? "http://127.0.0.1:9090", token: input.token, tokenSource: "--token" };
  if (env.POLIS_API_TOKEN) return { url: url ?? configUrl(input, env) ?? "http://127.0.0.1:9090", token: env.POLIS_API_TOKEN, tokenSource: "POLIS_API_TOKEN" };

  const path = input.config ?? (existsSync(join(cwd, DEFAULT_CONFIG)) ? DEFAULT_CONFIG : undefined);
  if (!path) return { url: url ?? "http://127.0.0.1:9090", tokenSource: "none" };
  const c = load(path, env, input.config !== undefined);
  if (!c) return { url: url ?? "http://127.0.0.1:9090", tokenSource: "none" };
  url ??= listenUrl(c.api.listen, c.api.tls !== undefined);
  // POLIS_API_TOKEN was handled above, so every token here is one written in the file.
  const tokens = c.api.tokens;
  if (tokens.length === 0) {
    const file = join(c.agent.data_dir, "admin.token");
    if (existsSync(file)) return { url, token: readFileSync(file, "utf8").trim(), tokenSource: file };
    return { url, tokenSource: "none" };
  }
  const fit = tokens.filter((t) => RANK[t.role] >= RANK[input.role]).sort((a, b) => RANK[a.role] - RANK[b.role])[0];
  if (!fit) {
    const have = tokens.map((t) => `${t.name} (${t.role})`).join(", ");
    throw new ConnectError(`polis ${input.command} needs a token with the ${input.role} role, but ${path} has only ${have}; pass one with --token TOKEN or POLIS_API_TOKEN`);
  }
  return { url, token: fit.token, tokenSource: `${path} token ${fit.name} (${fit.role})` };
}

export function connect(input: ConnectInput): PolisClient {
  const c = resolveConnection(input);
  return createClient({ url: c.url, ...(c.token ? { token: c.token } : {}) });
}

function configUrl(input: ConnectInput, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const path = input.config ?? (existsSync(join(input.cwd ?? process.cwd(), DEFAULT_CONFIG)) ? DEFAULT_CONFIG : undefined);
  const c = path ? load(path, env, input.config !== undefined) : undefined;
  return c ? listenUrl(c.api.listen, c.api.tls !== undefined) : undefined;
}

function load(path: string, env: Readonly<Record<string, string | undefined>>, explicit: boolean) {
  // Only the file's own tokens matter here (POLIS_API_TOKEN, when set, is used as is and never reaches this point
  // for the token; for the URL, a malformed one must not make the file unreadable).
  const { POLIS_API_TOKEN: _, ...rest } = env;
  const r = loadConfigFile(path, rest);
  if (r.ok) return r.loaded.config;
  // A config named on the command line must be right; the implicit ./config/agent.yaml is only a hint.
  if (explicit) throw new ConnectError(`invalid config ${r.error.source}:\n${formatProblems(r.error.problems)}`);
  return undefined;
}

function listenUrl(listen: string, tls: boolean): string {
  // An agent listening on every address is reached on loopback.
  const host = listen.replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:");
  return `${tls ? "https" : "http"}://${host}`;
}
