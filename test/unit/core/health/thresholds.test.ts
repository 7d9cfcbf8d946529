import { describe, expect, test } from "bun:test";
import type { Status } from "../../../../src/core/health/status.ts";
import { createThresholds, type ThresholdOptions } from "../../../../src/core/health/thresholds.ts";

/** Feeds a list of results and returns the reported status after each one. */
function run(opts: ThresholdOptions, results: Status[]): (Status | null)[] {
  const t = createThresholds(opts);
  return results.map((r) => {
    t.observe(r);
    return t.current;
  });
}

describe("thresholds", () => {
  test("the first result is reported at once whatever the thresholds", () => {
    const t = createThresholds({ successBeforePassing: 3, failuresBeforeCritical: 3 });
    expect(t.observe("critical")).toEqual({ from: null, to: "critical" });
    const u = createThresholds({ successBeforePassing: 3 });
    expect(u.observe("passing")).toEqual({ from: null, to: "passing" });
  });

  test("only transitions are emitted, repeats return null", () => {
    const t = createThresholds();
    expect(t.observe("passing")).not.toBeNull();
    expect(t.observe("passing")).toBeNull();
    expect(t.observe("critical")).toEqual({ from: "passing", to: "critical" });
    expect(t.observe("critical")).toBeNull();
  });

  const table: { name: string; opts: ThresholdOptions; input: Status[]; want: (Status | null)[] }[] = [
    {
      name: "default thresholds follow every result",
      opts: {},
      input: ["passing", "critical", "passing", "warning"],
      want: ["passing", "critical", "passing", "warning"],
    },
    {
      name: "critical only after 3 consecutive failures",
      opts: { failuresBeforeCritical: 3 },
      input: ["passing", "critical", "critical", "passing", "critical", "critical", "critical"],
      want: ["passing", "passing", "passing", "passing", "passing", "passing", "critical"],
    },
    {
      name: "warning after 1 failure, critical after 3",
      opts: { failuresBeforeWarning: 1, failuresBeforeCritical: 3 },
      input: ["passing", "critical", "critical", "critical"],
      want: ["passing", "warning", "warning", "critical"],
    },
    {
      name: "passing again only after 2 consecutive successes",
      opts: { successBeforePassing: 2 },
      input: ["critical", "passing", "critical", "passing", "passing"],
      want: ["critical", "critical", "critical", "critical", "passing"],
    },
    {
      name: "a warning result counts as a success and is reported as warning",
      opts: { successBeforePassing: 2 },
      input: ["critical", "warning", "warning"],
      want: ["critical", "critical", "warning"],
    },
    {
      name: "a critical check does NOT step back to warning on further failures",
      opts: { failuresBeforeWarning: 1, failuresBeforeCritical: 2 },
      input: ["critical", "critical", "critical"],
      want: ["critical", "critical", "critical"],
    },
  ];
  for (const c of table) {
    test(c.name, () => {
      expect(run(c.opts, c.input)).toEqual(c.want);
    });
  }
});
