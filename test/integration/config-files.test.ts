// Config files on the compiled binary: hostile documents are config errors, and exactly the documented ./.env
// is read (not Bun's .env.local or .env.<NODE_ENV>).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "../support/agent.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function workdir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "polis-cfg-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const validate = (dir: string, env: Record<string, string> = {}) => {
  const r = Bun.spawnSync([requireBinary(), "validate", join(dir, "agent.yaml")], { cwd: dir, env: { PATH: process.env.PATH ?? "", ...env } });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
};

describe("polis validate on hostile and environment-dependent files", () => {
  test("a YAML alias bomb prints a config error, without a stack trace", () => {
    let bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
    for (const [n, p] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"], ["f", "e"]]) bomb += `${n}: &${n} [${Array(9).fill(`*${p}`).join(",")}]\n`;
    const r = validate(workdir({ "agent.yaml": bomb }));
    expect(r.code).toBe(1);
    expect(r.out).toContain("too many alias expansions");
    expect(r.out).not.toMatch(/ReferenceError|\n\s+at /);
  });

  test("a problem names its line and column in the file", () => {
    const r = validate(workdir({ "agent.yaml": "agent:\n  log_level: loud\n" }));
    expect(r.code).toBe(1);
    expect(r.out).toContain("agent.log_level");
    expect(r.out).toContain("at line 2, column 14");
  });

  test("./.env is read: a bad value there is reported under its variable", () => {
    const r = validate(workdir({ "agent.yaml": "agent: {}\n", ".env": "POLIS_AGENT_LOG_LEVEL=loud\n" }));
    expect(r.code).toBe(1);
    expect(r.out).toContain("POLIS_AGENT_LOG_LEVEL (agent.log_level)");
  });

  test("contrast: .env.local and .env.production are NOT read, even with NODE_ENV=production", () => {
    const dir = workdir({ "agent.yaml": "agent: {}\n", ".env.local": "POLIS_AGENT_LOG_LEVEL=loud\n", ".env.production": "POLIS_DNS_TTL=never\n" });
    const r = validate(dir, { NODE_ENV: "production" });
    expect(r.out).not.toContain("POLIS_");
    expect(r.code).toBe(0);
  });
});
