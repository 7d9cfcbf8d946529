// Parses the command line and dispatches to a command; returns the exit code (undefined: keep running).
import { formatProblems, loadConfigFile, readDotEnv } from "../config/load.ts";
import { VERSION } from "../version.ts";
import { runAgent } from "./agent.ts";
import { CLIENT_COMMANDS, runClientCommand } from "./client-commands.ts";
import { runDemoApp } from "./demo-app.ts";

export const USAGE = `polis ${VERSION}: keeps a host's services running, healthy, balanced and sized.

Usage:
  polis agent --config FILE     run the agent (default config: ./config/agent.yaml)
  polis validate FILE           check a config file; prints every problem with its path
  polis version                 print the version
  polis demo-app [--port N]     a tiny HTTP app for demos and tests (PORT env var also works)
  polis help                    this text

Client commands (talk to a running agent's admin API; add --json for JSON):
  polis status                  workers, apps and replicas, checks, balancers, recent events
  polis apps                    every replica with pid, port, state, restarts, cpu, memory
  polis scale APP N             set an app's replica count
  polis restart APP [REPLICA]   rolling restart of an app, or restart one replica
  polis logs APP [-f] [--tail N]
  polis checks                  health checks and their state
  polis balancers               balancers and their endpoints
  polis services [--namespace NS] [--selector SEL]
  polis resolve NAME [--namespace NS] [--selector SEL] [--all]
  polis events [--follow] [--type T] [--target X] [--severity S] [--since SEQ]
  polis scaling [APP]           autoscaling state, or one app's decision history
  Connection: --url URL (or POLIS_API_URL), --token T (or POLIS_API_TOKEN), --config FILE
  (default: ./config/agent.yaml, whose api.listen and data_dir/admin.token are used).

Environment:
  POLIS_API_TOKEN               an admin token for the API (in addition to api.tokens)
  POLIS_<SECTION>_<KEY>         overrides a scalar setting, e.g. POLIS_API_LISTEN=127.0.0.1:9191
  A .env file in the working directory is read too (existing variables win).
`;

export function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

export async function runCli(argv: readonly string[]): Promise<number | undefined> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return 0;
    case "version":
    case "--version":
    case "-v":
      process.stdout.write(`polis ${VERSION}\n`);
      return 0;
    case "validate": {
      const file = rest.find((a) => !a.startsWith("-")) ?? flag(rest, "--config");
      if (!file) {
        process.stderr.write("polis validate: give a config file: polis validate FILE\n");
        return 2;
      }
      const result = loadConfigFile(file, readDotEnv(process.cwd(), process.env));
      if (!result.ok) {
        process.stderr.write(`polis: invalid config ${result.error.source} (${result.error.problems.length} problem${result.error.problems.length === 1 ? "" : "s"}):\n${formatProblems(result.error.problems)}\n`);
        return 1;
      }
      const c = result.loaded.config;
      process.stdout.write(`${result.loaded.source}: ok (${c.apps.length} apps, ${c.balancers.length} balancers, ${c.checks.length} checks, ${c.services.length} services)\n`);
      return 0;
    }
    case "agent":
      return runAgent(rest);
    case "demo-app":
      return runDemoApp(rest);
    default:
      if (CLIENT_COMMANDS.includes(cmd)) return runClientCommand(cmd, rest);
      process.stderr.write(`polis: unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}
