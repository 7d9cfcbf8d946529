// The command table: every command polis knows, in the order `polis help` lists them. Adding a command is adding
// its definition here; parsing, --help, completion and docs/cli.md follow from it.
import type { CommandDef } from "../args.ts";
import { alert, alerts, silence } from "./alerts.ts";
import { run, task, tasks } from "./tasks.ts";
import { completionScript, SHELLS, type Shell } from "../completion.ts";
import { drain, maint, reload, restart, scale, start, stop } from "./control.ts";
import { deploy, revisions, rollback, rollout } from "./deploy.ts";
import { agent, demoApp, init, service, upgrade, validate, version } from "./local.ts";
import { apps, balancers, checks, describe, resolve, scaling, services, status } from "./observe.ts";
import { events, logs } from "./streams.ts";
import { cluster, members } from "./cluster.ts";
import { top } from "./top.ts";
import { ui } from "./ui.ts";
import { audit, policies, policy } from "./policies.ts";
import { healing } from "./healing.ts";

export interface CommandGroup {
  readonly title: string;
  readonly commands: readonly CommandDef[];
}

const completion: CommandDef = {
  name: "completion",
  summary: "print a shell completion script",
  args: [{ name: "shell", description: "the shell", choices: SHELLS }],
  examples: ["source <(polis completion bash)", "polis completion fish | source"],
  run({ args, out }) {
    out.write(completionScript(args.shell as Shell, allCommands()));
    return 0;
  },
};

const help: CommandDef = {
  name: "help",
  summary: "list the commands, or show one command's usage",
  args: [{ name: "command", description: "the command to explain", optional: true }],
  run: () => 0, // handled by the dispatcher, which knows the table
};

export const GROUPS: readonly CommandGroup[] = [
  { title: "Run and set up", commands: [agent, upgrade, validate, init, service, completion, version, help, demoApp] },
  { title: "Look (read role)", commands: [status, apps, describe, top, logs, events, checks, balancers, services, resolve, scaling, alerts, tasks, policies, policy, audit, healing, members, cluster, revisions, ui] },
  { title: "Change (operator role; reload, deploy: admin)", commands: [scale, restart, deploy, rollout, rollback, stop, start, maint, drain, reload, alert, silence, run, task] },
];

export function allCommands(): CommandDef[] {
  return GROUPS.flatMap((g) => g.commands);
}

export function findCommand(name: string): CommandDef | undefined {
  return allCommands().find((c) => c.name === name);
}
