// CLI entry: `polis agent | validate | version | demo-app | help` (client commands talk to the admin API).
import { runCli } from "./cli/run.ts";

const code = await runCli(process.argv.slice(2));
if (code !== undefined) process.exit(code);
