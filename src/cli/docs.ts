// docs/cli.md, rendered from the command table (scripts/cli-docs.ts writes it; a test fails when it drifts).
import { type CommandDef, optionsOf, synopsis } from "./args.ts";
import type { CommandGroup } from "./commands/index.ts";

const cell = (s: string) => s.replace(/\|/g, "\\|");

function section(c: CommandDef): string {
  const lines = [`### polis ${c.name}`, "", "```", synopsis(c), "```", "", `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`];
  if (c.details) lines.push("", c.details);
  if (c.args?.length) {
    lines.push("", "| argument | |", "|---|---|");
    for (const a of c.args) lines.push(`| \`${a.name.toUpperCase()}\`${a.optional ? " (optional)" : ""} | ${cell(a.description)}${a.choices ? `: ${a.choices.map((x) => `\`${x}\``).join(", ")}` : ""} |`);
  }
  lines.push("", "| option | |", "|---|---|");
  for (const o of optionsOf(c)) {
    const label = `${o.short ? `\`-${o.short}\`, ` : ""}\`--${o.name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}\``;
    lines.push(`| ${label} | ${cell(o.description)}${o.choices ? `: ${o.choices.map((x) => `\`${x}\``).join(", ")}` : ""} |`);
  }
  if (c.role) lines.push("", `Needs a token with the \`${c.role}\` role or higher.`);
  if (c.examples?.length) lines.push("", "```sh", ...c.examples, "```");
  return lines.join("\n");
}

export function renderCliDocs(groups: readonly CommandGroup[]): string {
  const index = groups.map((g) => `- **${g.title}**: ${g.commands.map((c) => `[\`${c.name}\`](#polis-${c.name.replace(/[^a-z0-9-]/g, "")})`).join(", ")}`);
  return `<!-- Generated from src/cli/commands/ by \`bun run scripts/cli-docs.ts\`; edit the command definitions, not this file. -->
# polis command line

\`polis COMMAND [ARGUMENTS] [OPTIONS]\`. Every command prints its usage with \`--help\` (or \`-h\`) and does nothing
else. Options may come before or after arguments; \`--name=value\` and \`--name value\` are the same.

${index.join("\n")}

## Exit codes

| code | meaning |
|---|---|
| 0 | done |
| 1 | the operation failed: the agent refused it or cannot be reached, a config is invalid, a rolling restart was aborted |
| 2 | the command line is wrong (unknown option, missing or invalid argument): the usage is printed on stderr |

## Reaching the agent

Client commands (those that need a role below) talk to a running agent's admin API.

- **Address**: \`--url\`, else \`POLIS_API_URL\`, else \`api.listen\` of the config (\`--config\`, default
  \`./config/agent.yaml\`; an agent listening on \`0.0.0.0\` is reached on \`127.0.0.1\`).
- **Token**: \`--token\`, else \`POLIS_API_TOKEN\`, else from the config: when it lists \`api.tokens\`, the least
  privileged one that has the role the command needs (\`read\` < \`operator\` < \`admin\`); when it lists none, the
  agent's local admin token in \`<data_dir>/admin.token\`. If no configured token has the role, the command says which
  role is missing and exits 1 without calling the agent.
- A \`.env\` file in the working directory is read for these variables (set variables win).

## Output

Text tables by default, the API's JSON with \`--json\`. Colour and state symbols (✓ ! ✗) appear only when stdout is a
terminal, and colour is off when \`NO_COLOR\` is set. Times are in the local time zone (\`TZ\` is respected), with
the date when it is not today.

## Commands

${groups.flatMap((g) => g.commands).map(section).join("\n\n")}
`;
}
