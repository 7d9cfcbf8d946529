// Writes docs/cli.md from the command table (test/unit/cli/docs.test.ts fails when the file is stale).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GROUPS } from "../src/cli/commands/index.ts";
import { renderCliDocs } from "../src/cli/docs.ts";

const file = join(import.meta.dir, "..", "docs", "cli.md");
writeFileSync(file, renderCliDocs(GROUPS));
console.log(`wrote ${file}`);
