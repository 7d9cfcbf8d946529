// The house rules on imports (DESIGN.md): core is pure, protocol defines wire shapes from core alone, config maps
// onto wire specs without knowing the subsystems that run them, and no module sits in an import cycle.
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

/** Every src file another src file imports (type-only imports too: a cycle of types is still a knot). */
function importGraph(files: readonly string[], read: (f: string) => string = (f) => readFileSync(f, "utf8")): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of files) {
    const deps: string[] = [];
    for (const m of read(f).matchAll(/(?:^|\n)\s*(?:import|export)\s[^"';]*?from\s+"(\.[^"]+)"|import\(\s*"(\.[^"]+)"\s*\)/g)) deps.push(resolve(dirname(f), (m[1] ?? m[2])!));
    g.set(f, deps.filter((d) => d.endsWith(".ts")));
  }
  return g;
}

/** The import cycles of a graph: its strongly connected components of more than one file, or one importing itself. */
function cyclesOf(g: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || g.get(v)!.includes(v)) out.push(scc.sort());
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
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

  test("no src module is part of an import cycle", () => {
    const cycles = cyclesOf(importGraph(filesUnder(SRC))).map((c) => c.map((f) => relative(SRC, f)).join(" -> "));
    expect(cycles).toEqual([]);
  });

  test("the contrast: a type-only import back is seen as a cycle, and so is a dynamic import", () => {
    const texts: Record<string, string> = {
      [join(SRC, "x/a.ts")]: `import { b } from "./b.ts";\n`,
      [join(SRC, "x/b.ts")]: `import type { A } from "./a.ts";\n`,
      [join(SRC, "x/c.ts")]: `const d = await import("./d.ts");\n`,
      [join(SRC, "x/d.ts")]: `export { c } from "./c.ts";\n`,
      [join(SRC, "x/e.ts")]: `import { a } from "./a.ts";\n`,
    };
    const cycles = cyclesOf(importGraph(Object.keys(texts), (f) => texts[f]!)).map((c) => c.map((f) => relative(SRC, f)));
    expect(cycles.sort()).toEqual([["x/a.ts", "x/b.ts"], ["x/c.ts", "x/d.ts"]]);
  });

  test("the contrast: a config module importing the supervisor is seen as importing src/supervisor", () => {
    const text = `import type { AppSpec } from "../protocol/procs.ts";\nimport { selfCommand } from "../supervisor/entrypoints.ts";\nimport { join } from "node:path";\n`;
    expect(importsOf(join(SRC, "config/apps.ts"), text)).toEqual({ layers: ["protocol", "supervisor"], packages: ["node:path"] });
  });
});
