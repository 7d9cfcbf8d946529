// Config validation and the health worker run one rule set: a check `polis validate` accepts is one the worker
// schedules, and one the worker would refuse is refused by validate, with its path, field and value.
import { describe, expect, test } from "bun:test";
import { appCheckSpec, standaloneCheckSpec } from "../../../src/config/checks.ts";
import { loadConfigText } from "../../../src/config/load.ts";
import type { CheckSpec } from "../../../src/protocol/health.ts";
import { createChecker } from "../../../src/health/checker.ts";

/** What validate says about one config, and what the health worker says about every check it would be sent. */
function bothSides(yaml: string): { validate: string[]; worker: string[] } {
  const r = loadConfigText(yaml, "agent.yaml", {});
  if (!r.ok) return { validate: r.error.problems.map((p) => `${p.path}: ${p.message}${p.value !== undefined ? ` (${p.value})` : ""}`), worker: [] };
  const specs: CheckSpec[] = [...r.loaded.config.checks.map(standaloneCheckSpec), ...r.loaded.config.apps.flatMap((a) => a.checks.map((c) => appCheckSpec(a.name, 0, 3000, c)))];
  const checker = createChecker({ summaryIntervalMs: 0 });
  try {
    return { validate: [], worker: specs.flatMap((s) => { const a = checker.add(s); return a.ok ? [] : a.errors.map((e) => `${s.id}.${e.field}: ${e.message}`); }) };
  } finally {
    checker.stop();
  }
}

const standalone = (check: string) => `checks:\n  - ${check}\n`;
const app = (check: string) => `apps:\n  - name: web\n    command: /bin/true\n    port: {range: [3000, 3001]}\n    checks:\n      - ${check}\n`;

describe("one check rule set for validate and the health worker", () => {
  const table: Array<[string, string, string[]]> = [
    // Each of these passed validate before and then never ran (the worker sent only health.invalid).
    ["a file check whose default 2 s timeout is not shorter than its 1 s interval", standalone("{name: f, kind: file, target: /tmp/x, interval: 1s}"), ["checks[0].timeout: must be shorter than the interval (1000 ms) (2000)"]],
    ["a ttl check evaluated more often than once a second", standalone("{name: t, kind: ttl, ttl: 5s, interval: 500ms}"), ["checks[0].interval: must be at least 1000 ms (500)"]],
    ["a ttl check with a ttl of 0", standalone("{name: t, kind: ttl, ttl: 0s}"), ["checks[0].ttl: a ttl check needs a ttl longer than 0 ms (0)"]],
    ["an app check whose unhealthy interval equals its timeout", app("{name: h, kind: http, interval: 5s, timeout: 2s, unhealthy_interval: 2s}"), ["apps[0].checks[0].unhealthy_interval: must be longer than the timeout (2000 ms) (2000)"]],
    ["an app file check without its path", app("{name: f, kind: file}"), ["apps[0].checks[0].path: a file check needs a path"]],
    ["a command check without its command", standalone("{name: c, kind: command}"), ["checks[0].command: a command check needs a command"]],
    ["a tcp check without its target", standalone("{name: db, kind: tcp}"), ["checks[0].target: a tcp check needs a target"]],
  ];
  for (const [name, yaml, problems] of table) {
    test(`${name}: refused by validate`, () => {
      expect(bothSides(yaml)).toEqual({ validate: problems, worker: [] });
    });
  }

  const good: Array<[string, string]> = [
    // This one passed validate before but the worker refused it (its unused timeout is not below the interval).
    ["a ttl check probed every second with the default timeout", standalone("{name: t, kind: ttl, ttl: 5s, interval: 1s}")],
    ["a file check with a timeout under its interval", standalone("{name: f, kind: file, target: /tmp/x, interval: 5s, timeout: 1s}")],
    ["an app file check with its path", app("{name: f, kind: file, path: /tmp/ready, interval: 2s, timeout: 1s}")],
    ["an http app check with its defaults", app("{name: h, kind: http}")],
    ["a standalone tcp check", standalone('{name: db, kind: tcp, target: "127.0.0.1:5432"}')],
  ];
  for (const [name, yaml] of good) {
    test(`${name}: accepted by validate and scheduled by the worker`, () => {
      expect(bothSides(yaml)).toEqual({ validate: [], worker: [] });
    });
  }
});
