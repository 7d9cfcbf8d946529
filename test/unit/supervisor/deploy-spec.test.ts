import { describe, expect, test } from "bun:test";
import { decodeConfig } from "../../../src/config/load.ts";
import { prepareSpec } from "../../../src/supervisor/deploy-spec.ts";

const raw = { apps: [{ name: "other", command: "sleep", args: ["9"] }, { name: "web", command: "/srv/web", args: ["--port", "$PORT"], env: { A: "1", B: "2" }, port: { range: [3000, 3010] } }] };
const decoded = decodeConfig(raw, "test");
if (!decoded.ok) throw decoded.error;
const config = decoded.config;

describe("a deployment's spec", () => {
  test("env merges key by key, null removes a variable, other keys replace", () => {
    const r = prepareSpec(raw, config, "web", { env: { B: null, C: "3" }, args: ["--fast"] }, undefined, 2);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.fields).toMatchObject({ command: "/srv/web", args: ["--fast"], env: { A: "1", C: "3" } });
    expect((r.fields.env as Record<string, string>).B).toBeUndefined();
  });

  test("the patch goes over the revision the app runs when it differs from the config's", () => {
    const r = prepareSpec(raw, config, "web", { env: { C: "3" } }, { command: "/srv/web-old", args: [], env: { OLD: "x" } }, 2);
    expect(r.ok && r.fields).toMatchObject({ command: "/srv/web-old", env: { OLD: "x", C: "3" } });
  });

  test("every problem names its field under spec., and keys that are not revision fields are refused", () => {
    const bad = prepareSpec(raw, config, "web", { command: "", readiness: { kind: "sometimes" }, max_memory: "lots" }, undefined, 2);
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems.map((p) => p.path).sort()).toEqual(["spec.command", "spec.max_memory", "spec.readiness.kind"]);
    const other = prepareSpec(raw, config, "web", { replicas: 4, port: { none: true } }, undefined, 2);
    expect(!other.ok && other.problems.map((p) => p.path)).toEqual(["spec.replicas", "spec.port"]);
    expect(prepareSpec(raw, config, "nope", { command: "x" }, undefined, 2).ok).toBe(false);
  });
});
