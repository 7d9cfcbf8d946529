// docs/cli.md is generated from the command table and must match it; the CLI modules import no cycle through run.ts.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GROUPS } from "../../../src/cli/commands/index.ts";
import { renderCliDocs } from "../../../src/cli/docs.ts";

const root = join(import.meta.dir, "../../..");

test("docs/cli.md matches the command definitions (regenerate: bun run scripts/cli-docs.ts)", () => {
  expect(readFileSync(join(root, "docs/cli.md"), "utf8")).toBe(renderCliDocs(GROUPS));
});

test("no CLI module imports the dispatcher (run.ts imports the commands, never the other way round)", () => {
  const dir = join(root, "src/cli");
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && f !== "run.ts");
  const offenders = files.filter((f) => /from\s+"[./]*\/?run\.ts"/.test(readFileSync(join(dir, f), "utf8")));
  expect(offenders).toEqual([]);
});
