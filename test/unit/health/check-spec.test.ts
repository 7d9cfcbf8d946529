import { describe, expect, test } from "bun:test";
import { validateCheck, type CheckSpec } from "../../../src/health/check-spec.ts";

const good: CheckSpec = { id: "web", kind: "http", target: "127.0.0.1:8080", intervalMs: 1000, timeoutMs: 500 };
const fields = (s: Partial<CheckSpec>) => validateCheck(s).map((e) => e.field);

describe("check validation", () => {
  test("a good spec has no errors", () => {
    expect(validateCheck(good)).toEqual([]);
  });

  const table: [string, Partial<CheckSpec>, string[]][] = [
    ["unknown kind", { kind: "smtp" }, ["kind"]],
    ["interval under 1 s", { intervalMs: 999, timeoutMs: 100 }, ["intervalMs"]],
    ["timeout equal to the interval", { timeoutMs: 1000 }, ["timeoutMs"]],
    ["timeout above the interval", { timeoutMs: 5000 }, ["timeoutMs"]],
    ["zero timeout", { timeoutMs: 0 }, ["timeoutMs"]],
    ["missing id", { id: "" }, ["id"]],
    ["empty target", { target: " " }, ["target"]],
    ["NaN interval", { intervalMs: Number.NaN }, ["intervalMs"]],
    ["unhealthy interval under 1 s", { unhealthyIntervalMs: 500 }, ["unhealthyIntervalMs"]],
    ["threshold of zero", { thresholds: { failuresBeforeCritical: 0 } }, ["thresholds.failuresBeforeCritical"]],
    ["warning after critical", { thresholds: { failuresBeforeWarning: 5, failuresBeforeCritical: 2 } }, ["thresholds.failuresBeforeWarning"]],
    ["flap thresholds crossed", { flapping: { lowPercent: 60, highPercent: 40 } }, ["flapping.lowPercent"]],
    ["a ttl check without its ttl", { kind: "ttl", options: {} }, ["options.ttlMs"]],
    ["a ttl of 0", { kind: "ttl", options: { ttlMs: 0 } }, ["options.ttlMs"]],
  ];
  for (const [name, patch, want] of table) {
    test(`${name} -> error on ${want.join(", ")}`, () => {
      expect(fields({ ...good, ...patch })).toEqual(want);
    });
  }

  test("every bad field is reported at once, with its value", () => {
    const errors = validateCheck({ id: "x", kind: "nope", target: "t", intervalMs: 10, timeoutMs: 20 });
    expect(errors.map((e) => e.field)).toEqual(["kind", "intervalMs", "timeoutMs"]);
    expect(errors[1]).toMatchObject({ value: 10, message: "must be at least 1000 ms" });
  });

  test("a ttl check needs no target, and its unused timeout may exceed the interval", () => {
    expect(validateCheck({ ...good, kind: "ttl", target: "", timeoutMs: 2000, options: { ttlMs: 5000 } })).toEqual([]);
  });

  test("the contrast: a file check's timeout is held to the interval like any probe that can hang", () => {
    expect(fields({ ...good, kind: "file", target: "/tmp/x", timeoutMs: 2000 })).toEqual(["timeoutMs"]);
  });

  test("a caller's field names rename paths and messages alike", () => {
    const names: Record<string, string> = { timeoutMs: "timeout", intervalMs: "interval" };
    expect(validateCheck({ ...good, timeoutMs: 2000 }, (f) => names[f] ?? f)).toEqual([{ field: "timeout", message: "must be shorter than the interval (1000 ms)", value: 2000 }]);
  });
});
