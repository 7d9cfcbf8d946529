// Commands that need no agent, run from the binary: init writes a config that validates, service install writes a
// unit that systemd accepts (as does the one shipped in packaging/), completion scripts complete in a real shell.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGED_UNIT, renderUnit } from "../../src/cli/service.ts";
import { requireBinary } from "../support/agent.ts";

const dir = mkdtempSync(join(tmpdir(), "polis-local-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function polis(args: string[], cwd = dir) {
  const p = Bun.spawnSync([requireBinary(), ...args], { cwd, env: { PATH: process.env.PATH ?? "" }, timeout: 20_000 });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

/** A system tool a test needs: missing in CI is a failure; elsewhere the test says it is skipped and why. */
function tool(name: string): boolean {
  if (Bun.which(name)) return true;
  if (process.env.CI === "true") throw new Error(`${name} is required in CI (see .ci/run)`);
  console.warn(`skipping: ${name} is not installed`);
  return false;
}

describe("polis init", () => {
  test("writes ./config/agent.yaml, which validates, and the agent's default config path finds it", () => {
    const cwd = mkdtempSync(join(dir, "init-"));
    const r = polis(["init"], cwd);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("wrote config/agent.yaml");
    const text = readFileSync(join(cwd, "config/agent.yaml"), "utf8");
    expect(text.split("\n").filter((l) => l.trimStart().startsWith("#")).length).toBeGreaterThan(10);
    const v = polis(["validate", "config/agent.yaml"], cwd);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain("ok (1 apps, 1 balancers");
  });

  test("refuses to replace an existing file unless --force, and leaves it as it was", () => {
    const file = join(dir, "mine.yaml");
    writeFileSync(file, "# mine\n");
    const r = polis(["init", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file} already exists; pass --force to replace it`);
    expect(readFileSync(file, "utf8")).toBe("# mine\n");
    expect(polis(["init", file, "--force"]).code).toBe(0);
    expect(readFileSync(file, "utf8")).not.toBe("# mine\n");
  });
});

describe("polis service install", () => {
  const config = join(dir, "svc.yaml");
  writeFileSync(config, "api: {listen: 127.0.0.1:9999}\n");

  test("writes a unit that runs this binary with the config's absolute path, and systemd-analyze verify accepts it", () => {
    const units = join(dir, "units");
    const r = polis(["service", "install", "--config", "svc.yaml", "--unit-dir", units]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const unit = readFileSync(join(units, "polis.service"), "utf8");
    expect(unit).toContain(`ExecStart=${requireBinary()} agent --config ${config}\n`);
    expect(unit).toContain(`WorkingDirectory=${dir}\n`);
    expect(unit).toContain("ExecReload=/bin/kill -HUP $MAINPID\n");
    expect(r.stdout).toContain("systemctl daemon-reload && systemctl enable --now polis");
    if (!tool("systemd-analyze")) return;
    const v = Bun.spawnSync(["systemd-analyze", "verify", join(units, "polis.service")], { timeout: 20_000 });
    expect(v.stderr.toString()).toBe("");
    expect(v.exitCode).toBe(0);
  });

  test("refuses an invalid config (exit 1, its problems shown) and writes nothing", () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "api: {listen: nowhere}\n");
    const units = join(dir, "units-bad");
    const r = polis(["service", "install", "--config", bad, "--unit-dir", units]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("api.listen");
    expect(existsSync(units)).toBe(false);
  });

  test("packaging/polis.service is the unit for the packaged paths, and verifies with the binary in place", () => {
    const shipped = readFileSync(join(import.meta.dir, "../../packaging/polis.service"), "utf8");
    expect(shipped).toBe(renderUnit(PACKAGED_UNIT));
    if (!tool("systemd-analyze")) return;
    // verify checks that ExecStart exists: point it at the built binary, change nothing else.
    const copy = join(mkdtempSync(join(dir, "pkg-")), "polis.service");
    writeFileSync(copy, shipped.replace("ExecStart=/usr/local/bin/polis ", `ExecStart=${requireBinary()} `));
    const v = Bun.spawnSync(["systemd-analyze", "verify", copy], { timeout: 20_000 });
    expect(v.stderr.toString()).toBe("");
    expect(v.exitCode).toBe(0);
  });
});

describe("polis completion", () => {
  const script = join(dir, "polis.bash");
  test("bash: commands, a command's options, and an option's values complete", () => {
    writeFileSync(script, polis(["completion", "bash"]).stdout);
    const complete = (words: string[]) => {
      const p = Bun.spawnSync(["bash", "-c", `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _polis; printf '%s\\n' "\${COMPREPLY[@]}"`], { timeout: 10_000 });
      return p.stdout.toString().trim().split("\n").filter(Boolean);
    };
    expect(complete(["polis", "re"]).sort()).toEqual(["reload", "resolve", "restart", "revisions"]);
    expect(complete(["polis", "logs", "--st"])).toEqual(["--stderr"]);
    expect(complete(["polis", "events", "--severity", "w"])).toEqual(["warning"]);
    expect(complete(["polis", "completion", ""]).sort()).toEqual(["bash", "fish", "zsh"]);
  });

  test.each([["zsh"], ["fish"]])("%s: the script parses", (shell) => {
    if (!tool(shell)) return;
    const file = join(dir, `polis.${shell}`);
    writeFileSync(file, polis(["completion", shell]).stdout);
    const p = Bun.spawnSync([shell, "-n", file], { timeout: 10_000 });
    expect(p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
  });

  test("fish: completes commands and values through complete -C", () => {
    if (!tool("fish")) return;
    const file = join(dir, "polis.fish");
    writeFileSync(file, polis(["completion", "fish"]).stdout);
    const p = Bun.spawnSync(["fish", "--no-config", "-c", `source ${file}; complete -C'polis sta'; complete -C'polis events --severity '`], { timeout: 10_000 });
    const out = p.stdout.toString();
    expect(out).toMatch(/^status\t/m);
    expect(out).toMatch(/^critical\t/m);
  });
});
