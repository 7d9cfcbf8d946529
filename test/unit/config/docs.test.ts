// docs/config.md is generated from the schema and the settings table; it cannot drift from them.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { DOC_FILE, renderConfigDoc } from "../../../scripts/docs/config.ts";
import { SETTINGS } from "../../../src/config/settings.ts";

describe("docs/config.md", () => {
  const doc = renderConfigDoc();
  test("the checked-in file matches what the schema generates (run npx bun scripts/docs/config.ts)", () => {
    expect(readFileSync(DOC_FILE, "utf8")).toBe(doc);
  });

  test("every rule of the settings table shows in the reference with its mode", () => {
    for (const rule of SETTINGS) {
      const row = doc.split("\n").find((l) => l.startsWith(`| \`${rule.path}`));
      expect(row, rule.path).toBeDefined();
      expect(row).toContain(rule.mode);
    }
  });
});
