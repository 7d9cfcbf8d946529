// Config problems as an operator reads them: one per real mistake, with its place in the file and a suggestion.
import { describe, expect, test } from "bun:test";
import { type ConfigProblem, loadConfigText } from "../../../src/config/load.ts";
import { MAX_CONFIG_BYTES } from "../../../src/config/parse.ts";
import { closest, editDistance } from "../../../src/config/suggest.ts";

const problems = (text: string): readonly ConfigProblem[] => {
  const r = loadConfigText(text, "test.yaml", {});
  if (r.ok) throw new Error("expected the config to be rejected");
  return r.error.problems;
};
const app = (name: string, port: string) => `  - {name: ${name}, command: /bin/true, port: ${port}}\n`;

describe("hostile documents are config errors, never exceptions", () => {
  test("a YAML alias bomb is one problem naming the alias limit", () => {
    let text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
    for (const [n, p] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"], ["f", "e"]]) text += `${n}: &${n} [${Array(9).fill(`*${p}`).join(",")}]\n`;
    const ps = problems(text);
    expect(ps).toHaveLength(1);
    expect(ps[0]!.message).toMatch(/too many alias expansions/);
  });

  test("a few aliases for shared settings are fine", () => {
    const r = loadConfigText(`apps:\n  - {name: a, command: /bin/true, env: &env {A: "1"}}\n  - {name: b, command: /bin/true, env: *env}\n`, "t.yaml", {});
    expect(r.ok ? "ok" : r.error.message).toBe("ok");
  });

  test("a document over the size cap is refused before parsing", () => {
    const ps = problems(`agent: {name: a}\n#${"x".repeat(MAX_CONFIG_BYTES)}\n`);
    expect(ps[0]!.message).toMatch(/bytes; the limit is/);
  });

  test("deep nesting is a problem, not a stack overflow", () => {
    const ps = problems(`agent: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`);
    expect(ps.length).toBeGreaterThan(0);
  });
});

describe("one problem per mistake", () => {
  test("a wrong value in port.range is the one problem reported (no noise from the other port forms)", () => {
    const ps = problems(`apps:\n${app("a", '{range: [3000, "x"]}')}`);
    expect(ps.map((p) => p.path)).toEqual(["apps[0].port.range[1]"]);
    expect(ps[0]!.message).toBe("Expected number");
  });

  test("a port form with a typo gets a suggestion and the list of forms", () => {
    const ps = problems(`apps:\n${app("a", "{rnge: [3000, 3001]}")}`);
    expect(ps.find((p) => p.path === "apps[0].port.rnge")?.message).toBe('unknown key "rnge"; did you mean "range"?');
    expect(ps.find((p) => p.path === "apps[0].port")?.message).toMatch(/one of the forms \{range, env\} \| \{shared, env\} \| \{none\}/);
    expect(ps).toHaveLength(2);
  });

  test("a replica count of the wrong form gets the count's own message", () => {
    const ps = problems("apps:\n  - {name: a, command: /bin/true, replicas: lots}\n");
    expect(ps).toHaveLength(1);
    expect(ps[0]!.message).toMatch(/"auto" or a multiple of the core count/);
  });

  test("cross-field checks run on the parts that decoded while another part is wrong", () => {
    const ps = problems(
      "agent: {log_level: loud}\n" +
        `apps:\n${app("a", "{range: [3000, 3010]}")}${app("b", "{range: [3005, 3020]}")}  - {name: c, comand: x}\n` +
        "balancers:\n  - {name: lb, listen: '127.0.0.1:1', backends: {endpoints: [{address: '127.0.0.1:2'}]}}\n  - {name: lb, listen: '127.0.0.1:3', backends: {endpoints: [{address: '127.0.0.1:2'}]}}\n",
    );
    const paths = ps.map((p) => p.path);
    expect(paths).toContain("agent.log_level");
    expect(paths).toContain("apps[2].comand");
    expect(paths).toContain("apps[1].port.range");
    expect(paths).toContain("balancers[1].name");
  });

  test("a balancer naming an app that failed to decode is not also told the app is missing", () => {
    const ps = problems("apps:\n  - {name: web, comand: x}\nbalancers:\n  - {name: lb, listen: '127.0.0.1:1', backends: {app: web}}\n");
    expect(ps.map((p) => p.path)).not.toContain("balancers[0].backends.app");
  });
});

describe("port ranges of different apps", () => {
  const cases: Array<[string, string, string, RegExp]> = [
    ["overlapping ranges", "{range: [3000, 3099]}", "{range: [3050, 3150]}", /app "b" \(ports 3050-3150\) overlaps app "a" at apps\[0\] \(ports 3000-3099\) on ports 3050-3099/],
    ["a range inside another", "{range: [3000, 3099]}", "{range: [3010, 3011]}", /on ports 3010-3011/],
    ["a shared port inside a range", "{range: [3000, 3099]}", "{shared: 3042}", /app "b" \(port 3042\) overlaps app "a".* on port 3042/],
    ["one shared port for two apps", "{shared: 8000}", "{shared: 8000}", /on port 8000/],
  ];
  test.each(cases)("%s are refused naming both apps and the ports", (_what, a, b, message) => {
    const ps = problems(`apps:\n${app("a", a)}${app("b", b)}`);
    expect(ps).toHaveLength(1);
    expect(ps[0]!.path).toMatch(/^apps\[1\]\.port\.(range|shared)$/);
    expect(ps[0]!.message).toMatch(message);
  });

  test("contrast: adjacent ranges do NOT overlap", () => {
    const r = loadConfigText(`apps:\n${app("a", "{range: [3000, 3099]}")}${app("b", "{range: [3100, 3199]}")}`, "t.yaml", {});
    expect(r.ok ? "ok" : r.error.message).toBe("ok");
  });
});

describe("where and what", () => {
  test("each problem carries its line and column in the file", () => {
    const ps = problems("agent:\n  log_level: loud\napps:\n  - name: a\n    command: /bin/true\n    restart:\n      polcy: always\n");
    const level = ps.find((p) => p.path === "agent.log_level")!;
    expect([level.line, level.column]).toEqual([2, 14]);
    const typo = ps.find((p) => p.path === "apps[0].restart.polcy")!;
    expect([typo.line, typo.column]).toEqual([7, 7]);
  });

  test("cross-field problems are placed too", () => {
    const ps = problems(`apps:\n${app("a", "{range: [3000, 3010]}")}${app("b", "{range: [3005, 3020]}")}`);
    expect([ps[0]!.line, ps[0]!.column]).toEqual([3, 49]);
  });

  test("unknown keys suggest the nearest known key, at every level", () => {
    const ps = problems("agnet: {}\napi: {lisen: '127.0.0.1:1'}\napps:\n  - {name: a, command: x, replica: 2}\n");
    expect(ps.map((p) => p.message)).toEqual([
      'unknown key "agnet"; did you mean "agent"?',
      'unknown key "lisen"; did you mean "listen"?',
      'unknown key "replica"; did you mean "replicas"?',
    ]);
  });

  test("contrast: a key far from every known key gets NO suggestion", () => {
    expect(problems("zzzzzz: 1\n")[0]!.message).toBe('unknown key "zzzzzz"');
  });

  test("edit distance", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("agnet", "agent")).toBe(1);
    expect(closest("lisen", ["listen", "tokens"])).toBe("listen");
    expect(closest("ab", ["xy"])).toBeUndefined();
  });
});
