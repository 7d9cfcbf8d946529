import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const DIR = new URL("../../../src/protocol/", import.meta.url).pathname;

describe("src/protocol", () => {
  test("defines what crosses a thread: it imports only itself, the pure core and msgpackr, never a subsystem or the config", () => {
    const offending: string[] = [];
    for (const file of readdirSync(DIR).filter((f) => f.endsWith(".ts"))) {
      const text = readFileSync(join(DIR, file), "utf8");
      for (const m of text.matchAll(/from "([^"]+)"/g)) {
        const spec = m[1]!;
        if (spec.startsWith("./") || spec.startsWith("../core/") || spec === "msgpackr") continue;
        offending.push(`${file}: ${spec}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
