import { describe, expect, test } from "bun:test";
import { compareStatus, isHealthy, isStatus, worst } from "../../../../src/core/health/status.ts";

describe("status", () => {
  test("only the three known words are statuses", () => {
    expect(["passing", "warning", "critical"].every(isStatus)).toBe(true);
    expect(isStatus("ok")).toBe(false);
    expect(isStatus(undefined)).toBe(false);
  });
  test("warning is still healthy, critical is not", () => {
    expect(isHealthy("passing")).toBe(true);
    expect(isHealthy("warning")).toBe(true);
    expect(isHealthy("critical")).toBe(false);
  });
  test("worst picks the more severe status", () => {
    expect(worst("passing", "warning")).toBe("warning");
    expect(worst("critical", "warning")).toBe("critical");
    expect(compareStatus("passing", "critical")).toBeLessThan(0);
  });
});
