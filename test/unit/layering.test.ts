// The house rules on imports (DESIGN.md): core is pure, protocol defines wire shapes from core alone, and config maps
// onto wire specs without knowing the subsystems that run them.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? filesUnder(join(dir, d.name)) : d.name.endsWith(".ts") ? [join(dir, d.name)] : []));
}

/** Every module an src file imports: relative ones as their top-level src directory ("core", "protocol", ...). */
function importsOf(file: string, text = readFileSync(file, "utf8")): { layers: string[]; packages: string[] } {
  const layers: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^"';]*?from\s+"([^"]+)"/g)) {
    const spec = m[1]!;
    if (spec.startsWith(".")) layers.push(relative(SRC, resolve(dirname(file), spec)).split("/")[0]!);
    else packages.push(spec);
  }
  return { layers, packages };
}

const RULES: Record<string, { layers: readonly string[]; packages?: RegExp }> = {
  // The CEL library is pure computation (no I/O, no clock): policy conditions compile and evaluate inside core.
  core: { layers: ["core"], packages: /^(@marcbachmann\/cel-js)?$/ },
  protocol: { layers: ["protocol", "core"], packages: /^msgpackr$/ },
  config: { layers: ["config", "core", "protocol"] },
};

describe("import layering", () => {
  for (const [layer, rule] of Object.entries(RULES)) {
    test(`src/${layer} imports only ${rule.layers.join(", ")}`, () => {
      const bad: string[] = [];
      for (const file of filesUnder(join(SRC, layer))) {
        const { layers, packages } = importsOf(file);
        for (const l of layers) if (!rule.layers.includes(l)) bad.push(`${relative(SRC, file)} imports src/${l}`);
        if (rule.packages) for (const p of packages) if (!rule.packages.test(p)) bad.push(`${relative(SRC, file)} imports package ${p}`);
      }
      expect(bad).toEqual([]);
    });
  }

  test("the contrast: a config module importing the supervisor is seen as importing src/supervisor", () => {
    const text = `import type { AppSpec } from "../protocol/procs.ts";\nimport { selfCommand } from "../supervisor/entrypoints.ts";\nimport { join } from "node:path";\n`;
    expect(importsOf(join(SRC, "config/apps.ts"), text)).toEqual({ layers: ["protocol", "supervisor"], packages: ["node:path"] });
  });
});
