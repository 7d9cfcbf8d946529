import { describe, expect, test } from "bun:test";
import { type VerdictInput, verdictOf } from "../../../../src/core/healing/verdict.ts";

describe("health verdict", () => {
  const table: Array<[VerdictInput, boolean | null, string]> = [
    [{ state: "ready", health: "passing", ejected: false }, true, "passing"],
    [{ state: "ready", health: "warning", ejected: false }, true, "passing"],
    [{ state: "ready", health: "critical", ejected: false }, false, "endpoint_critical"],
    [{ state: "ready", health: "passing", ejected: true }, false, "outlier_ejected"],
    [{ state: "ready", ejected: false }, true, "passing"],
    [{ state: "crash-loop", ejected: false }, false, "crash_loop"],
    [{ state: "backoff", health: "critical", ejected: false }, null, "transient"],
    [{ state: "failed", ejected: false }, null, "transient"],
    [{ state: "exited", ejected: false }, null, "transient"],
    [{ state: "starting", health: "critical", ejected: true }, null, "transient"],
    [{ state: "stopping", ejected: false }, null, "transient"],
  ];
  for (const [input, healthy, reason] of table) {
    test(`${input.state}, health ${input.health ?? "none"}${input.ejected ? ", ejected" : ""} -> ${healthy === null ? "no verdict" : healthy ? "healthy" : "unhealthy"} (${reason})`, () => {
      expect(verdictOf(input)).toEqual({ healthy, reason } as ReturnType<typeof verdictOf>);
    });
  }
});
