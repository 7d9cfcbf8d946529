import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfigFile, loadConfigText, readDotEnv } from "../../../src/config/load.ts";

const load = (text: string, env: Record<string, string> = {}) => loadConfigText(text, "test.yaml", env);
const problems = (text: string, env: Record<string, string> = {}) => {
  const r = load(text, env);
  if (r.ok) throw new Error("expected the config to be rejected");
  return r.error.problems;
};

describe("config loading", () => {
  test("a minimal config gets every default", () => {
    const r = load("agent: {}\n");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = r.loaded.config;
    expect(c.api.listen).toBe("127.0.0.1:9090");
    expect(c.agent.data_dir).toBe("./data");
    expect(c.dns.listen).toBe("127.0.0.1:8600");
    expect(c.apps).toEqual([]);
  });

  test("durations and sizes are decoded to milliseconds and bytes", () => {
    const r = load(`apps:\n  - name: web\n    command: /bin/true\n    max_memory: 512MiB\n    stop: {timeout: 1.5s}\n`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.loaded.config.apps[0]!.max_memory).toBe(512 * 1024 * 1024);
    expect(r.loaded.config.apps[0]!.stop.timeout).toBe(1500);
    expect(r.loaded.config.apps[0]!.restart.max_delay).toBe(15_000);
  });

  test("JSON is accepted as well as YAML", () => {
    const r = load(`{"api": {"listen": "127.0.0.1:9999"}}`);
    expect(r.ok && r.loaded.config.api.listen).toBe("127.0.0.1:9999");
  });

  const bad: Array<[string, string, string, RegExp]> = [
    ["an empty file", "", "", /empty/],
    ["a file that is not a mapping", "- a\n- b\n", "", /mapping/],
    ["YAML that does not parse", "apps: [\n", "", /.+/],
    ["a wrong type", "api: {listen: 9090}\n", "api.listen", /Expected string/],
    ["an unknown top-level key", "apis: {}\n", "apis", /unknown key "apis"/],
    ["an unknown nested key (a typo)", "apps:\n  - {name: a, command: x, replica: 2}\n", "apps[0].replica", /unknown key "replica"/],
    ["an out-of-range port", "api: {listen: '127.0.0.1:70000'}\n", "api.listen", /between 0 and 65535/],
    ["a duplicate app name", "apps:\n  - {name: a, command: x}\n  - {name: a, command: y}\n", "apps[1].name", /duplicate app name/],
    ["a duplicate balancer name", "balancers:\n  - {name: b, listen: '127.0.0.1:1', backends: {endpoints: [{address: '127.0.0.1:2'}]}}\n  - {name: b, listen: '127.0.0.1:3', backends: {endpoints: [{address: '127.0.0.1:2'}]}}\n", "balancers[1].name", /duplicate balancer name/],
    ["min above max replicas", "apps:\n  - {name: a, command: x, replicas: {min: 4, max: 2}}\n", "apps[0].replicas.min", /must not exceed/],
    ["a probe interval under one second", "checks:\n  - {name: c, kind: tcp, target: '127.0.0.1:1', interval: 200ms, timeout: 100ms}\n", "checks[0].interval", /at least 1000/],
    ["a timeout longer than the interval", "checks:\n  - {name: c, kind: tcp, target: '127.0.0.1:1', interval: 2s, timeout: 5s}\n", "checks[0].timeout", /shorter than the interval/],
    ["an unknown check kind", "checks:\n  - {name: c, kind: ping, target: 'x'}\n", "checks[0].kind", /Expected/],
    ["two listeners on one address", "api: {listen: '127.0.0.1:8600'}\n", "dns.listen", /already used by api.listen/],
    ["a balancer naming a missing app", "balancers:\n  - {name: b, listen: '127.0.0.1:1', backends: {app: ghost}}\n", "balancers[0].backends.app", /no app of that name/],
    ["a backup naming a missing app", "balancers:\n  - {name: b, listen: '127.0.0.1:1', backends: {endpoints: [{address: '127.0.0.1:2'}], backup: {app: ghost}}}\n", "balancers[0].backends.backup.app", /no app of that name/],
    ["healing excluding an unknown app", "healing: {exclude: [ghost]}\n", "healing.exclude[0]", /no app of that name/],
    ["a healing rung named twice", "healing: {rungs: [{rung: restart}, {rung: restart}]}\n", "healing.rungs[1].rung", /each rung appears once/],
    ["an unknown healing rung", "healing: {rungs: [{rung: reboot}]}\n", "healing.rungs[0].rung", /Expected/],
    ["an empty backup", "balancers:\n  - {name: b, listen: '127.0.0.1:1', backends: {endpoints: [{address: '127.0.0.1:2'}], backup: {}}}\n", "balancers[0].backends.backup", /needs an app, a service or static endpoints/],
    ["a backup endpoint that is also a primary", "balancers:\n  - {name: b, listen: '127.0.0.1:1', backends: {endpoints: [{address: '127.0.0.1:2'}], backup: {endpoints: [{address: '127.0.0.1:2'}]}}}\n", "balancers[0].backends.backup.endpoints[0].address", /also a primary/],
    ["a bad duration", "agent: {shutdown_timeout: soon}\n", "agent.shutdown_timeout", /duration/],
  ];
  test.each(bad)("%s is rejected with its path", (_what, text, path, message) => {
    const ps = problems(text);
    const hit = ps.find((p) => p.path.includes(path));
    expect(hit, JSON.stringify(ps)).toBeDefined();
    expect(hit!.message).toMatch(message);
  });

  test("every problem is reported at once, with the offending value", () => {
    const ps = problems("api: {listen: '127.0.0.1:70000', body_limit: lots}\nagent: {log_level: loud, colour: red}\n");
    expect(ps.map((p) => p.path).sort()).toEqual(["agent.colour", "agent.log_level", "api.body_limit", "api.listen"]);
    expect(ps.find((p) => p.path === "agent.log_level")!.value).toBe('"loud"');
  });

  test("POLIS_* variables override scalar settings and are named in errors", () => {
    const r = load("api: {listen: '127.0.0.1:9090'}\n", { POLIS_API_LISTEN: "127.0.0.1:9191", POLIS_AGENT_LOG_LEVEL: "debug" });
    expect(r.ok && r.loaded.config.api.listen).toBe("127.0.0.1:9191");
    expect(r.ok && r.loaded.config.agent.log_level).toBe("debug");
    const ps = problems("agent: {}\n", { POLIS_DNS_TTL: "forever" });
    expect(ps[0]!.path).toBe("POLIS_DNS_TTL (dns.ttl)");
  });

  test("POLIS_API_TOKEN adds an admin token", () => {
    const r = load("agent: {}\n", { POLIS_API_TOKEN: "0123456789abcdef0123" });
    expect(r.ok && r.loaded.config.api.tokens).toEqual([{ name: "env", token: "0123456789abcdef0123", role: "admin" }]);
  });

  test("a .env file fills variables that are not already set", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-env-"));
    writeFileSync(join(dir, ".env"), "# comment\nPOLIS_API_LISTEN=127.0.0.1:7000\nexport POLIS_DNS_TTL='9s'\n");
    const env = readDotEnv(dir, { POLIS_DNS_TTL: "1s" });
    expect(env.POLIS_API_LISTEN).toBe("127.0.0.1:7000");
    expect(env.POLIS_DNS_TTL).toBe("1s");
  });

  test("a missing file is a problem, not an exception", () => {
    const r = loadConfigFile("/nonexistent/polis.yaml", {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.problems[0]!.message).toMatch(/no such file/);
  });

  test("the example listing every setting is valid", () => {
    const r = loadConfigFile(join(import.meta.dir, "../../../config/examples/full.yaml"), {});
    expect(r.ok ? "ok" : r.error.message).toBe("ok");
  });

  test("the bundled default config is valid", () => {
    const r = loadConfigFile(join(import.meta.dir, "../../../config/agent.yaml"), {});
    expect(r.ok ? "ok" : r.error.message).toBe("ok");
  });
});
