// `npm run bench`: runs every benchmark script in turn (each prints its own figures; see docs/benchmarks.md).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const dir = import.meta.dir;
const only = process.argv.slice(2);
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "index.ts" && !f.includes("-worker") && !f.includes("-fixture") && !f.includes("-runner") && !f.startsWith("_"))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
if (!existsSync(join(dir, "../../dist/polis"))) {
  const b = Bun.spawnSync([process.execPath, join(dir, "../build.ts")], { stdout: "inherit", stderr: "inherit" });
  if (b.exitCode !== 0) process.exit(1);
}
let failed = 0;
for (const s of scripts) {
  console.log(`\n=== ${s}`);
  const p = Bun.spawnSync([process.execPath, join(dir, s)], { stdout: "inherit", stderr: "inherit", timeout: 15 * 60_000 });
  if (p.exitCode !== 0) {
    failed++;
    console.log(`${s} failed (exit ${p.exitCode})`);
  }
}
process.exit(failed > 0 ? 1 : 0);
