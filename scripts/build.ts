// Builds dist/polis: one executable with every worker embedded (the worker list comes from src/supervisor/entrypoints.ts).
// Bun's .env autoloading is off in the binary: it would also read .env.local and .env.<NODE_ENV>; the agent reads
// exactly the documented ./.env itself (src/config/dotenv.ts).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { WORKER_FILES } from "../src/supervisor/entrypoints.ts";
import { buildUi } from "./ui-build.ts";

const root = join(import.meta.dir, "..");
const outfile = join(root, "dist", "polis");
mkdirSync(join(root, "dist"), { recursive: true });
const entries = ["src/main.ts", ...Object.values(WORKER_FILES)];
const bun = process.execPath;
const started = performance.now();
// The console first: the binary embeds what it generates (dist/ui-assets.gen.ts, imported by src/api/ui.ts).
const ui = await buildUi(root);
const gz = Object.values(ui.sizes).reduce((n, s) => n + s.gzip, 0);
console.log(`built the console: ${(gz / 1024).toFixed(1)} KiB gzip in ${Object.keys(ui.sizes).length} assets`);
const proc = Bun.spawnSync([bun, "build", "--compile", "--minify", "--sourcemap", "--format=esm", "--bytecode", "--no-compile-autoload-dotenv", ...entries, "--outfile", outfile], {
  cwd: root,
  stdout: "inherit",
  stderr: "inherit",
});
if (proc.exitCode !== 0) {
  console.error(`build failed (exit ${proc.exitCode})`);
  process.exit(proc.exitCode ?? 1);
}
console.log(`built ${outfile} with ${entries.length - 1} workers in ${Math.round(performance.now() - started)} ms`);
