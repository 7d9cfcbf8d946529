// Before the typecheck: every package that package.json declares is installed, so a checkout whose node_modules
// predates a lockfile change fails with the fix to run instead of "Cannot find module" errors from tsc.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
const declared = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
const missing = declared.filter((name) => !existsSync(join(root, "node_modules", name, "package.json")));
if (missing.length > 0) {
  console.error(`node_modules is older than package.json: ${missing.join(", ")} not installed; run npm ci`);
  process.exit(1);
}
