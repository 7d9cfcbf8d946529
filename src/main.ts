// CLI entry: the command table in src/cli/commands/ (agent, validate, status, scale, ...); see `polis help`.
import { runCli } from "./cli/run.ts";

const code = await runCli(process.argv.slice(2));
if (code !== undefined) process.exit(code);
