import { describe, expect, test } from "bun:test";
import { ProbeOptionsError } from "../../../src/health/probe.ts";
import { buildProbe, PROBE_KINDS } from "../../../src/health/registry.ts";

describe("probe registry", () => {
  test("builds a probe for every known kind", () => {
    for (const kind of PROBE_KINDS) {
      const built = buildProbe(kind, kind === "ttl" ? { ttlMs: 1000 } : {});
      expect(typeof built.probe).toBe("function");
      expect(built.ttl !== undefined).toBe(kind === "ttl");
    }
  });

  test("an unknown kind is an options error naming the field", () => {
    expect(() => buildProbe("smtp")).toThrow(ProbeOptionsError);
    expect(() => buildProbe("smtp")).toThrow("kind:");
  });
});
