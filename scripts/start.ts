// `npm start`: run the agent from source on the bundled config (or the file given after --).
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const args = process.argv.slice(2);
// --no-env-file: the agent reads exactly ./.env itself (src/config/dotenv.ts), not Bun's .env.local and .env.<NODE_ENV>.
const proc = Bun.spawn([process.execPath, "--no-env-file", join(root, "src/main.ts"), "agent", "--config", args[0] ?? join(root, "config/agent.yaml")], {
  cwd: root,
  stdio: ["inherit", "inherit", "inherit"],
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => proc.kill(sig));
process.exit(await proc.exited);
