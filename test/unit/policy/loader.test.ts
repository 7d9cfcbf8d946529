import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPolicyDir } from "../../../src/policy/loader.ts";

const doc = (name: string, extra = "") => `apiVersion: polis/v1
kind: Policy
metadata: {name: ${name}}
spec:
  rules:
    - name: r
      when: {metric: {name: ready}, op: ">=", value: 1}
      actions: [{type: alert, summary: "x"}${extra}]
`;

describe("policy directory", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const mk = (files: Record<string, string>) => {
    dir = mkdtempSync(join(tmpdir(), "polis-pol-"));
    for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
    return dir;
  };

  test("every document of every file is installed, YAML streams and JSON lists included", () => {
    const r = loadPolicyDir(mk({ "a.yaml": `${doc("a")}---\n${doc("b")}`, "c.json": JSON.stringify([{ apiVersion: "polis/v1", kind: "Policy", metadata: { name: "c" }, spec: { rules: [{ name: "r", when: { cel: "app.ready > 0" }, actions: [{ type: "alert", summary: "y" }] }] } }]), "notes.txt": "ignored" }), { tasks: [] });
    expect(r.ok && r.policies.map((p) => p.name)).toEqual(["a", "b", "c"]);
  });

  test("one bad file refuses the whole set, naming the file and the path", () => {
    const r = loadPolicyDir(mk({ "a.yaml": doc("a"), "b.yaml": doc("b", ', {type: run_task, task: "nope"}') }), { tasks: ["backup"] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => `${p.file.slice(dir.length + 1)}: ${p.path}`)).toEqual(["b.yaml: spec.rules[0].actions[1].task"]);
    expect(r.problems[0]!.message).toContain("declared: backup");
  });

  test("a name defined in two files is refused; a YAML syntax error names its line", () => {
    const dup = loadPolicyDir(mk({ "a.yaml": doc("same"), "b.yaml": doc("same") }), { tasks: [] });
    expect(!dup.ok && dup.problems[0]!.message).toContain("also defined in");
    rmSync(dir, { recursive: true, force: true });
    const syntax = loadPolicyDir(mk({ "a.yaml": "spec: [unclosed" }), { tasks: [] });
    expect(!syntax.ok && syntax.problems[0]!.path).toMatch(/^line \d+, column \d+$/);
  });

  test("a missing directory is an empty set, not an error", () => {
    dir = mkdtempSync(join(tmpdir(), "polis-pol-"));
    expect(loadPolicyDir(join(dir, "none"), { tasks: [] })).toEqual({ ok: true, policies: [], files: [] });
  });
});
