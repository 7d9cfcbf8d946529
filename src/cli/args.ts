// Command definitions and their parsing: one table describes each command's arguments and options, and the same
// table drives parsing (node:util parseArgs), --help, docs/cli.md and shell completion.
import { parseArgs } from "node:util";
import type { PolisClient } from "../client/client.ts";
import type { Output } from "./output.ts";

export type Role = "read" | "operator" | "admin";

export interface OptionDef {
  readonly name: string;
  readonly short?: string;
  readonly type: "string" | "boolean";
  /** Placeholder shown in usage for a string option, e.g. "FILE". */
  readonly value?: string;
  readonly description: string;
  /** Values a shell can complete (also checked when parsing). */
  readonly choices?: readonly string[];
  /** A string option that may be given more than once: its value is the list, in order. */
  readonly multiple?: true;
}

export interface ArgDef {
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
  readonly choices?: readonly string[];
}

export interface CommandContext {
  /** Positional arguments by name (undefined when an optional one is left out). */
  readonly args: Readonly<Record<string, string | undefined>>;
  readonly opts: Readonly<Record<string, string | boolean | string[] | undefined>>;
  /** The words after the defined arguments, for a command that takes them (`rest`). */
  readonly rest?: readonly string[];
  readonly out: Output;
  /** The admin API client, with a token that has the command's role (client commands only). */
  client(): PolisClient;
}

export interface CommandDef {
  readonly name: string;
  readonly summary: string;
  /** Longer text for --help and the docs: what it does, what it prints. */
  readonly details?: string;
  readonly args?: readonly ArgDef[];
  readonly options?: readonly OptionDef[];
  /** Set for commands that talk to the admin API: the role their requests need. */
  readonly role?: Role;
  /** A higher role for some arguments (e.g. `cluster apply` writes, `cluster` reads); default `role`. */
  readonly roleFor?: (args: Readonly<Record<string, string | undefined>>) => Role;
  readonly examples?: readonly string[];
  /** Takes any number of words after its arguments (a command line after `--`), named this in usage. */
  readonly rest?: string;
  /** Exit code, or undefined to keep running (the agent, the demo app). */
  run(ctx: CommandContext): Promise<number | undefined> | number | undefined;
}

/** A usage problem: printed with the command's usage on stderr, exit 2. */
export class UsageError extends Error {
  readonly _tag = "UsageError";
}

/** Added to every command. */
export const HELP_OPTION: OptionDef = { name: "help", short: "h", type: "boolean", description: "print this command's usage and do nothing else" };

/** Added to every command with a role. */
export const CONNECTION_OPTIONS: readonly OptionDef[] = [
  { name: "url", type: "string", value: "URL", description: "admin API address (default: POLIS_API_URL, else the config's api.listen)" },
  { name: "token", type: "string", value: "TOKEN", description: "API token (default: POLIS_API_TOKEN, else a token with the needed role from the config)" },
  { name: "config", short: "c", type: "string", value: "FILE", description: "config file that locates the agent (default: ./config/agent.yaml)" },
  { name: "json", type: "boolean", description: "print the API's JSON instead of text" },
];

export function optionsOf(def: CommandDef): OptionDef[] {
  const own = def.options ?? [];
  const names = new Set(own.map((o) => o.name));
  // A command may define its own --config (the agent's config file): it then replaces the connection one.
  const conn = def.role ? CONNECTION_OPTIONS.filter((o) => !names.has(o.name)) : [];
  return [...own, ...conn, HELP_OPTION];
}

export type Parsed =
  | { readonly kind: "help" }
  | { readonly kind: "ok"; readonly args: Record<string, string | undefined>; readonly opts: Record<string, string | boolean | string[] | undefined>; readonly rest?: string[] };

/** Parses `argv` (the words after the command name) against `def`; throws UsageError on anything it does not define. */
export function parseCommand(def: CommandDef, argv: readonly string[]): Parsed {
  const options = optionsOf(def);
  const config = Object.fromEntries(options.map((o) => [o.name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]));
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: config, allowPositionals: true, allowNegative: true, strict: true }) as typeof parsed;
  } catch (e) {
    // --help wins over every other problem on the line: `polis scale --bogus -h` prints help.
    if (wantsHelp(argv)) return { kind: "help" };
    throw new UsageError(cleanParseError((e as Error).message));
  }
  if (parsed.values.help) return { kind: "help" };
  const defs = def.args ?? [];
  const args: Record<string, string | undefined> = {};
  const pos = parsed.positionals;
  for (let i = 0; i < defs.length; i++) {
    const a = defs[i]!;
    const v = pos[i];
    if (v === undefined) {
      if (!a.optional) throw new UsageError(`missing argument ${a.name.toUpperCase()} (${a.description})`);
      continue;
    }
    if (a.choices && !a.choices.includes(v)) throw new UsageError(`${a.name.toUpperCase()} must be one of ${a.choices.join(", ")}; got "${v}"`);
    args[a.name] = v;
  }
  if (pos.length > defs.length && !def.rest) throw new UsageError(`unexpected argument "${pos[defs.length]}"`);
  for (const o of options) {
    const v = parsed.values[o.name];
    if (o.choices && typeof v === "string" && !o.choices.includes(v)) throw new UsageError(`--${o.name} must be one of ${o.choices.join(", ")}; got "${v}"`);
  }
  return { kind: "ok", args, opts: parsed.values, ...(pos.length > defs.length ? { rest: pos.slice(defs.length) } : {}) };
}

function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}

/** parseArgs explains itself well, then adds a hint about `--` meant for programmers: keep the first sentence. */
function cleanParseError(message: string): string {
  const cut = message.indexOf(". To specify");
  return cut >= 0 ? message.slice(0, cut) : message;
}

export function synopsis(def: CommandDef): string {
  const args = (def.args ?? []).map((a) => (a.optional ? `[${a.name.toUpperCase()}]` : a.name.toUpperCase())).join(" ");
  return `polis ${def.name}${args ? ` ${args}` : ""}${(def.options?.length ?? 0) > 0 || def.role ? " [options]" : ""}${def.rest ? ` -- ${def.rest}` : ""}`;
}

function optionLabel(o: OptionDef): string {
  return `${o.short ? `-${o.short}, ` : ""}--${o.name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}${o.multiple ? " (repeatable)" : ""}`;
}

/** The text `polis CMD --help` prints. */
export function usage(def: CommandDef): string {
  const lines = [`Usage: ${synopsis(def)}`, "", def.summary];
  if (def.details) lines.push("", def.details);
  const rows: Array<[string, string]> = [];
  for (const a of def.args ?? []) rows.push([a.name.toUpperCase(), `${a.description}${a.choices ? ` (${a.choices.join(", ")})` : ""}${a.optional ? " (optional)" : ""}`]);
  const args = rows.length;
  for (const o of optionsOf(def)) rows.push([optionLabel(o), `${o.description}${o.choices ? ` (${o.choices.join(", ")})` : ""}`]);
  const width = Math.max(0, ...rows.map((r) => r[0].length));
  const fmt = ([k, v]: [string, string]) => `  ${k.padEnd(width)}  ${v}`;
  if (args > 0) lines.push("", "Arguments:", ...rows.slice(0, args).map(fmt));
  lines.push("", "Options:", ...rows.slice(args).map(fmt));
  if (def.role) lines.push("", `Needs an API token with the ${def.role} role (or higher).`);
  if (def.examples?.length) lines.push("", "Examples:", ...def.examples.map((e) => `  ${e}`));
  return `${lines.join("\n")}\n`;
}

/** Parses a duration such as 500ms, 30s, 10m, 2h (a bare number is seconds). */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${what} must be a duration such as 30s, 10m or 2h; got "${text}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  return Math.round(n * (unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000));
}

export function parseCount(text: string | undefined, what: string, fallback: number, max = 1_000_000): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) > max) throw new UsageError(`${what} must be a whole number from 0 to ${max}; got "${text}"`);
  return Number(text);
}
