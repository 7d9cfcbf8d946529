import { describe, expect, test } from "bun:test";
import { replicaBounds, SELF, toAppSpec } from "../../../src/config/apps.ts";
import { appCheckSpec, standaloneCheckSpec } from "../../../src/config/checks.ts";
import { loadConfigText } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import { validateCheck } from "../../../src/health/check-spec.ts";

function config(text: string): Config {
  const r = loadConfigText(text, "test.yaml", {});
  if (!r.ok) throw new Error(r.error.message);
  return r.loaded.config;
}

describe("config to process specs", () => {
  const c = config(`apps:
  - name: web
    command: "${SELF}"
    args: [demo-app]
    replicas: {min: 1, max: 2x}
    port: {range: [3000, 3010], env: HTTP_PORT}
    restart: {policy: on-failure, initial_delay: 50ms, max_delay: 2s}
    max_memory: 64MiB
`);
  const app = c.apps[0]!;
  const host = { cores: 4, self: { command: "/opt/polis/bin/polis", args: ["--entry"] } };

  test("core-relative counts resolve against the core count", () => {
    expect(replicaBounds(app, 4)).toEqual({ min: 1, max: 8, initial: 1 });
  });

  test("@self runs this program and keeps the configured arguments after the entry", () => {
    const spec = toAppSpec(app, c, host);
    expect(spec.command).toBe("/opt/polis/bin/polis");
    expect(spec.args).toEqual(["--entry", "demo-app"]);
    expect(spec.port).toEqual({ kind: "range", from: 3000, to: 3010, env: "HTTP_PORT" });
    expect(spec.restart).toMatchObject({ mode: "on-failure", backoff: { initialMs: 50, capMs: 2000 } });
    expect(spec.maxMemoryBytes).toBe(64 * 1024 * 1024);
  });

  test("an app's drain bound is the longest drain_timeout of the balancers, however long (no 60 s cap)", () => {
    const withBalancers = config(`apps:
  - {name: web, command: x, port: {range: [3000, 3010]}}
balancers:
  - {name: a, listen: "127.0.0.1:8080", backends: {app: web}, drain_timeout: 5m}
  - {name: b, listen: "127.0.0.1:8081", backends: {app: web}, drain_timeout: 10s}
`);
    expect(toAppSpec(withBalancers.apps[0]!, withBalancers, host).drainTimeoutMs).toBe(300_000);
    expect(toAppSpec(app, c, host).drainTimeoutMs).toBe(0);
  });

  test("a run-time replica count is kept within the configured bounds", () => {
    expect(toAppSpec(app, c, host, 99).replicas).toBe(8);
    expect(toAppSpec(app, c, host, 0).replicas).toBe(1);
  });
});

describe("config to check specs", () => {
  const c = config(`apps:
  - name: web
    command: x
    port: {range: [3000, 3010]}
    checks:
      - {name: http, kind: http, path: /healthz, interval: 2s, timeout: 1s, expect_status: [200, "300-399"], failures_before_critical: 3}
checks:
  - {name: db, kind: tcp, target: "127.0.0.1:5432", interval: 5s, timeout: 1s}
  - {name: beat, kind: ttl, ttl: 30s, detector: phi}
`);

  test("an app check targets each replica's port and runs at once when the replica is ready", () => {
    const spec = appCheckSpec("web", 2, 3002, c.apps[0]!.checks[0]!);
    expect(spec).toMatchObject({ id: "web:2:http", kind: "http", target: "http://127.0.0.1:3002", intervalMs: 2000, timeoutMs: 1000, initialDelayMs: 0 });
    expect(spec.options).toMatchObject({ path: "/healthz", expectedStatus: [200, "300-399"] });
    expect(spec.thresholds).toMatchObject({ failuresBeforeCritical: 3 });
    expect(validateCheck(spec)).toEqual([]);
  });

  test("standalone checks keep their target and are staggered (no initial delay unless set)", () => {
    const db = standaloneCheckSpec(c.checks[0]!);
    expect(db).toMatchObject({ id: "db", target: "127.0.0.1:5432" });
    expect(db.initialDelayMs).toBeUndefined();
    expect(validateCheck(db)).toEqual([]);
    const beat = standaloneCheckSpec(c.checks[1]!);
    expect(beat.options).toMatchObject({ ttlMs: 30_000, detector: "phi" });
  });
});
