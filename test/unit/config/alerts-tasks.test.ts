import { describe, expect, test } from "bun:test";
import { decodeConfig } from "../../../src/config/decode.ts";
import { definitionSpec, ParamError, redactEnv, resolveParams } from "../../../src/config/tasks.ts";

const problems = (doc: unknown) => {
  const r = decodeConfig(doc, "test");
  return r.ok ? [] : r.error.problems.map((p) => `${p.path}: ${p.message}`);
};

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

  test("secret-looking env values are redacted, others kept", () => {
    expect(redactEnv({ API_TOKEN: "a", DB_PASSWORD: "b", aws_secret_access_key: "c", MODE: "fast" })).toEqual({ API_TOKEN: "[redacted]", DB_PASSWORD: "[redacted]", aws_secret_access_key: "[redacted]", MODE: "fast" });
  });
});
