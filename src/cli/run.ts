// Dispatches a command line to its command. Exit codes: 0 done, 1 the operation failed (the agent refused or is
// unreachable, a config is invalid), 2 the command line is wrong (usage on stderr); undefined: keep running.
import { ApiClientError, type PolisClient } from "../client/client.ts";
import { VERSION } from "../version.ts";
import { type CommandDef, parseCommand, synopsis, UsageError, usage } from "./args.ts";
import { allCommands, findCommand, GROUPS } from "./commands/index.ts";
import { ConnectError, connect } from "./connect.ts";
import { createOutput, type Output } from "./output.ts";

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** `polis help`: every command with its one-line summary, by group. */
export function mainUsage(): string {
  const width = Math.max(...allCommands().map((c) => synopsis(c).length)) + 2;
  const groups = GROUPS.map((g) => `${g.title}:\n${g.commands.map((c) => `  ${synopsis(c).padEnd(width)}${c.summary}`).join("\n")}`);
  return `polis ${VERSION}: keeps a host's services running, healthy, balanced and sized.

${groups.join("\n\n")}

Run \`polis COMMAND --help\` for a command's arguments and options.
Client commands find the agent through --url (or POLIS_API_URL), else the api.listen of --config (default
./config/agent.yaml), and use --token (or POLIS_API_TOKEN), else a token from that config with the role they need.
Exit codes: 0 done, 1 the operation failed, 2 wrong usage.
`;
}

function suggest(name: string): string {
  const near = allCommands()
    .map((c) => c.name)
    .filter((n) => n.startsWith(name.slice(0, 2)) || name.startsWith(n));
  return near.length ? ` (did you mean ${near.join(" or ")}?)` : "";
}

export async function runCli(argv: readonly string[], out: Output = createOutput()): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    out.write(mainUsage());
    return EXIT.ok;
  }
  if (name === "--version" || name === "-v") {
    out.line(`polis ${VERSION}`);
    return EXIT.ok;
  }
  const def = findCommand(name);
  if (!def) {
    out.error(`polis: unknown command "${name}"${suggest(name)}\n\n${mainUsage()}`);
    return EXIT.usage;
  }
  let parsed: ReturnType<typeof parseCommand>;
  try {
    parsed = parseCommand(def, rest);
  } catch (e) {
    if (e instanceof UsageError) return usageError(def, e, out);
    throw e;
  }
  if (parsed.kind === "help") {
    out.write(usage(def));
    return EXIT.ok;
  }
  if (def.name === "help") {
    const topic = parsed.args.command;
    if (topic === undefined) {
      out.write(mainUsage());
      return EXIT.ok;
    }
    const target = findCommand(topic);
    if (!target) {
      out.error(`polis help: unknown command "${topic}"${suggest(topic)}`);
      return EXIT.usage;
    }
    out.write(usage(target));
    return EXIT.ok;
  }
  const { args, opts } = parsed;
  let client: PolisClient | undefined;
  try {
    return await def.run({
      args,
      opts,
      rest: parsed.rest ?? [],
      out,
      client() {
        client ??= connect({ command: def.name, role: def.roleFor?.(args) ?? def.role ?? "read", url: opts.url as string | undefined, token: opts.token as string | undefined, config: opts.config as string | undefined });
        return client;
      },
    });
  } catch (e) {
    if (e instanceof UsageError) return usageError(def, e, out);
    if (e instanceof ConnectError) {
      out.error(`polis ${def.name}: ${e.message}`);
      return EXIT.failed;
    }
    if (e instanceof ApiClientError) {
      out.error(`polis ${def.name}: ${apiMessage(def, e, def.roleFor?.(args))}`);
      return EXIT.failed;
    }
    out.error(`polis ${def.name}: ${(e as Error)?.message ?? String(e)}`);
    return EXIT.failed;
  }
}

function usageError(def: CommandDef, e: UsageError, out: Output): number {
  out.error(`polis ${def.name}: ${e.message}\n\n${usage(def)}`);
  return EXIT.usage;
}

function apiMessage(def: CommandDef, e: ApiClientError, role?: string): string {
  const where = e.status ? ` (HTTP ${e.status}, ${e.code})` : "";
  const problems = (e.details as { problems?: Array<{ path?: string; field?: string; message?: string; value?: unknown; line?: number; column?: number }> } | undefined)?.problems;
  // Config problems (path, message, value as text, line and column) print as `polis validate` prints them.
  const list =
    Array.isArray(problems) && problems.length > 0
      ? `\n${problems.map((p) => `  - ${p.path ?? p.field ?? "(root)"}: ${p.message ?? "invalid"}${p.value !== undefined ? ` (got ${typeof p.value === "string" ? p.value : JSON.stringify(p.value)})` : ""}${p.line !== undefined ? ` at line ${p.line}, column ${p.column ?? 1}` : ""}`).join("\n")}`
      : "";
  const hint =
    e.status === 401
      ? `\n  the agent did not accept the token: pass one with --token TOKEN or POLIS_API_TOKEN (or --config with the agent's config)`
      : e.status === 403
        ? `\n  polis ${def.name} needs a token with the ${role ?? def.role ?? "read"} role: pass one with --token TOKEN or POLIS_API_TOKEN`
        : "";
  return `${e.message}${where}${list}${hint}`;
}
