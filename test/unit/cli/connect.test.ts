// Client commands pick the token their role needs from the config, or say which role is missing.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError, resolveConnection } from "../../../src/cli/connect.ts";

const dir = mkdtempSync(join(tmpdir(), "polis-connect-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, api: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `agent: {data_dir: ${join(dir, name)}}\napi:\n${api}\n`);
  return file;
}

const READ = "read-token-0123456789";
const OPS = "operator-token-0123456789";
const ADMIN = "admin-token-0123456789";
const tokens = config("tokens", `  listen: 127.0.0.1:9191\n  tokens:\n    - {name: viewer, token: ${READ}, role: read}\n    - {name: boss, token: ${ADMIN}, role: admin}\n    - {name: ops, token: ${OPS}, role: operator}`);

describe("resolveConnection", () => {
  test.each([
    ["read", READ],
    ["operator", OPS],
    ["admin", ADMIN],
  ] as const)("a %s command gets the least privileged token that has the role", (role, token) => {
    const c = resolveConnection({ command: "x", role, config: tokens, cwd: dir, env: {} });
    expect(c.token).toBe(token);
    expect(c.url).toBe("http://127.0.0.1:9191");
  });

  test("the first token is NOT used when its role is too low: the missing role and --token are named", () => {
    const onlyRead = config("read-only", `  tokens:\n    - {name: viewer, token: ${READ}, role: read}`);
    const run = () => resolveConnection({ command: "restart", role: "operator", config: onlyRead, cwd: dir, env: {} });
    expect(run).toThrow(ConnectError);
    expect(run).toThrow(/polis restart needs a token with the operator role, but .*read-only\.yaml has only viewer \(read\); pass one with --token TOKEN or POLIS_API_TOKEN/);
  });

  test("with no configured token, the agent's local admin token file is used", () => {
    const none = config("local", "  listen: 0.0.0.0:9292");
    mkdirSync(join(dir, "local"), { recursive: true });
    writeFileSync(join(dir, "local", "admin.token"), "local-admin-token-0123456789\n");
    const c = resolveConnection({ command: "scale", role: "operator", config: none, cwd: dir, env: {} });
    expect(c).toEqual({ url: "http://127.0.0.1:9292", token: "local-admin-token-0123456789", tokenSource: join(dir, "local", "admin.token") });
  });

  test("--token and POLIS_API_TOKEN win over the config, in that order", () => {
    expect(resolveConnection({ command: "x", role: "admin", token: "given-on-the-line", config: tokens, cwd: dir, env: { POLIS_API_TOKEN: "from-env" } }).token).toBe("given-on-the-line");
    expect(resolveConnection({ command: "x", role: "admin", config: tokens, cwd: dir, env: { POLIS_API_TOKEN: "from-env" } }).token).toBe("from-env");
  });

  test("an invalid config named with --config is an error that shows its problems", () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "api: {listen: nowhere}\n");
    expect(() => resolveConnection({ command: "x", role: "read", config: bad, cwd: dir, env: {} })).toThrow(/invalid config .*bad\.yaml:\n.*api\.listen/s);
  });
});
