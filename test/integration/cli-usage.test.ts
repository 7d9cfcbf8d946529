// The binary's command line: --help prints a command's usage and does nothing else, for every command; wrong usage
// prints the usage on stderr and exits 2.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allCommands } from "../../src/cli/commands/index.ts";
import { requireBinary } from "../support/agent.ts";

// An empty directory: no config/agent.yaml, no .env; nothing a command could pick up or write by accident.
const cwd = mkdtempSync(join(tmpdir(), "polis-usage-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function polis(...args: string[]) {
  const p = Bun.spawnSync([requireBinary(), ...args], { cwd, env: { PATH: process.env.PATH ?? "" }, timeout: 20_000 });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

describe("polis CMD --help", () => {
  test.each(allCommands().map((c) => [c.name]))("polis %s --help prints its usage, exits 0 and touches nothing", (name) => {
    for (const flag of ["--help", "-h"]) {
      const r = polis(name, flag);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`Usage: polis ${name}`);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  test("help wins over the rest of the line: polis agent --config missing.yaml --help does not load a config", () => {
    const r = polis("agent", "--config", "missing.yaml", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--config FILE");
  });

  test("polis help CMD prints the same usage as polis CMD --help", () => {
    expect(polis("help", "restart").stdout).toBe(polis("restart", "--help").stdout);
  });

  test("polis with no command lists every command and exits 0", () => {
    const r = polis();
    expect(r.code).toBe(0);
    for (const c of allCommands()) expect(r.stdout).toContain(`polis ${c.name}`);
  });
});

describe("wrong usage exits 2 with the usage on stderr", () => {
  test.each([
    [["status", "--bogus", "--url", "http://127.0.0.1:9"], "Unknown option '--bogus'", "Usage: polis status"],
    [["scale", "demo", "--url", "http://127.0.0.1:9"], "missing argument REPLICAS", "Usage: polis scale"],
    [["scale", "demo", "three", "--url", "http://127.0.0.1:9"], 'REPLICAS must be a whole number or auto; got "three"', "Usage: polis scale"],
    [["scale", "demo", "3", "--for", "soon", "--url", "http://127.0.0.1:9"], '--for must be a duration such as 30s, 10m or 2h; got "soon"', "Usage: polis scale"],
    [["restart", "--url", "http://127.0.0.1:9"], "missing argument APP", "Usage: polis restart"],
    [["logs", "demo", "--tail", "many", "--url", "http://127.0.0.1:9"], '--tail must be a whole number', "Usage: polis logs"],
    [["completion", "tcsh"], "SHELL must be one of bash, zsh, fish", "Usage: polis completion"],
    [["top", "--interval", "10ms", "--url", "http://127.0.0.1:9"], "--interval must be at least 500ms", "Usage: polis top"],
    [["validate"], "missing argument FILE", "Usage: polis validate"],
    [["frobnicate"], 'unknown command "frobnicate"', "polis help"],
  ])("polis %p: %s", (args, message, usageLine) => {
    const r = polis(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain(usageLine);
  });
});
