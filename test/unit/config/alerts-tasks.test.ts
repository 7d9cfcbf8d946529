import { describe, expect, test } from "bun:test";
import { toAlertRules } from "../../../src/config/alerts.ts";
import { decodeConfig } from "../../../src/config/decode.ts";
import { definitionSpec, ParamError, redactEnv, resolveParams } from "../../../src/config/tasks.ts";

const problems = (doc: unknown) => {
  const r = decodeConfig(doc, "test");
  return r.ok ? [] : r.error.problems.map((p) => `${p.path}: ${p.message}`);
};

const r = (name: string) => ({ name, url: "http://127.0.0.1:9/hook" });
const deep = (n: number): Record<string, unknown> => (n === 0 ? { receiver: "a" } : { routes: [deep(n - 1)] });

describe("alerts: and tasks: in the config", () => {
  test.each([
    [{ alerts: { receivers: [{ name: "r", url: "ftp://x" }] } }, "alerts.receivers[0].url: Expected an http:// or https:// URL"],
    [{ alerts: { receivers: [{ name: "r", url: "http://a", matchers: ["app"] }] } }, 'alerts.receivers[0].matchers[0]: "app" is not a matcher'],
    [{ alerts: { sources: { disk: { percent: 120 } } } }, "alerts.sources.disk.percent: Expected a value between 0 and 100"],
    [{ alerts: { receivers: [{ name: "r", url: "http://a" }, { name: "r", url: "http://b" }] } }, "alerts.receivers[1].name: duplicate receiver name"],
    [{ tasks: [{ name: "t", command: "x", schedule: "* * *" }] }, "tasks[0].schedule:"],
    [{ tasks: [{ name: "t", command: "x", time_zone: "Nowhere/City" }] }, 'tasks[0].time_zone: unknown time zone "Nowhere/City"'],
    [{ tasks: [{ name: "t", command: "x", args: ["{{v}}"] }] }, "tasks[0].args[0]: {{v}} names no parameter"],
    [{ tasks: [{ name: "t", command: "x", params: { v: { pattern: "(" } } }] }, "tasks[0].params.v.pattern: invalid regular expression"],
    [{ task_queue: { max_concurrent: 0 } }, "task_queue.max_concurrent"],
    [{ alerts: { receivers: [r("a")], route: { routes: [{ receiver: "a" }] } } }, "alerts.route.receiver: the root route must name a receiver"],
    [{ alerts: { receivers: [r("a")], route: { receiver: "a", routes: [{ matchers: ["team=db"], receiver: "dba" }] } } }, 'alerts.route.routes[0].receiver: no receiver named "dba" (declared: a)'],
    [{ alerts: { receivers: [r("a")], route: { receiver: "a", routes: [{ routes: [{ receiver: "zz" }] }] } } }, 'alerts.route.routes[0].routes[0].receiver: no receiver named "zz"'],
    [{ alerts: { receivers: [r("a")], route: { receiver: "a", matchers: ["team=db"] } } }, "alerts.route.matchers: the root route takes every alert"],
    [{ alerts: { receivers: [r("a")], route: { receiver: "a", continue: true } } }, "alerts.route.continue: the root route has no siblings"],
    [{ alerts: { receivers: [{ ...r("a"), severities: ["critical"] }], route: { receiver: "a" } } }, 'alerts.receivers[0].severities: with alerts.route set, the routing tree decides'],
    [{ alerts: { receivers: [{ ...r("a"), group_wait: "1s" }], route: { receiver: "a" } } }, "alerts.receivers[0].group_wait: with alerts.route set"],
    [{ alerts: { receivers: [r("a")], route: { receiver: "a", routes: [{ matchers: ["team"] }] } } }, 'alerts.route.routes[0].matchers[0]: "team" is not a matcher'],
    [{ alerts: { receivers: [r("a")], route: { receiver: "a", routes: [{ group_wait: "soon" }] } } }, "alerts.route.routes[0].group_wait"],
    [{ alerts: { receivers: [r("a")], route: { receiver: "a", routes: [{ continue: "yes" }] } } }, "alerts.route.routes[0].continue"],
    [{ alerts: { receivers: [r("a")], route: { receiver: "a", routes: [deep(6)] } } }, "routes nest at most 5 levels below the root"],
  ])("%j -> %s", (doc, want) => {
    expect(problems(doc).join("\n")).toContain(want);
  });

  test("parameters are checked whole against their pattern, defaulted, substituted; unknown ones refused", () => {
    const r = decodeConfig({ tasks: [{ name: "b", command: "/bin/b", args: ["--to", "{{to}}"], env: { WHERE: "{{to}}" }, params: { to: { pattern: "[a-z]+", default: "s" } } }] }, "t");
    if (!r.ok) throw r.error;
    const d = r.config.tasks[0]!;
    expect(resolveParams(d)).toEqual({ to: "s" });
    expect(() => resolveParams(d, { to: "ok; rm -rf /" })).toThrow(ParamError);
    expect(() => resolveParams(d, { other: "x" })).toThrow(/no parameter other/);
    const spec = definitionSpec(d, r.config.task_queue, resolveParams(d, { to: "backup" }));
    expect(spec.args).toEqual(["--to", "backup"]);
    expect(spec.env).toEqual({ WHERE: "backup" });
  });

  test("a routing tree maps to the engine's routes (options inherited) and index tree", () => {
    const res = decodeConfig({ alerts: { group_wait: "10s", receivers: [r("a"), { ...r("b"), send_resolved: false }], route: { receiver: "a", routes: [{ matchers: ["severity=critical"], receiver: "b", continue: true, repeat_interval: "1h" }, { matchers: ["team=db"], group_by: ["..."] }] } } }, "t");
    if (!res.ok) throw res.error;
    const rules = toAlertRules(res.config.alerts);
    expect(rules.routes.map((x) => [x.receiver, x.key, x.groupWaitMs, x.repeatIntervalMs, x.groupBy, x.sendResolved])).toEqual([
      ["a", "{}", 10_000, 14_400_000, ["alertname"], true],
      ["b", '{}/{severity="critical"}', 10_000, 3_600_000, ["alertname"], false],
      ["a", '{}/{team="db"}', 10_000, 14_400_000, ["..."], true],
    ]);
    expect(rules.tree).toMatchObject({ route: 0, children: [{ route: 1, continue: true }, { route: 2, continue: false }] });
    // Without a route: flat routing, one per receiver, no tree.
    const flat = decodeConfig({ alerts: { receivers: [r("a")] } }, "t");
    if (!flat.ok) throw flat.error;
    expect(toAlertRules(flat.config.alerts).tree).toBeUndefined();
  });

  test("secret-looking env values are redacted, others kept", () => {
    expect(redactEnv({ API_TOKEN: "a", DB_PASSWORD: "b", aws_secret_access_key: "c", MODE: "fast" })).toEqual({ API_TOKEN: "[redacted]", DB_PASSWORD: "[redacted]", aws_secret_access_key: "[redacted]", MODE: "fast" });
  });
});
