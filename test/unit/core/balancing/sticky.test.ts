// sticky sessions: opaque cookie values, honoured only for eligible endpoints.
import { describe, expect, test } from "bun:test";
import { createStickySessions, readCookie } from "../../../../src/core/balancing/sticky.ts";
import { pool } from "../../../conformance/balancing.case.ts";

describe("sticky sessions", () => {
  test("a value is 16 hex digits, stable, and reveals nothing of the id", () => {
    const s = createStickySessions();
    const v = s.encode("10.0.0.7:8080");
    expect(v).toMatch(/^[0-9a-f]{16}$/);
    expect(s.encode("10.0.0.7:8080")).toBe(v);
    expect(v.includes("10")).toBe(false);
  });

  test("the salt changes every value", () => {
    expect(createStickySessions({ salt: "a" }).encode("x")).not.toBe(createStickySessions({ salt: "b" }).encode("x"));
  });

  test("lookup finds the endpoint a cookie names, wherever it sits in the array", () => {
    const s = createStickySessions();
    const endpoints = pool([1, 1, 1]);
    s.update([...endpoints].reverse());
    expect(s.lookup(s.encode("ep-0"))).toBe(2);
  });

  test("contrast: a cookie for an endpoint no longer eligible is not honoured", () => {
    const s = createStickySessions();
    const endpoints = pool([1, 1, 1]);
    s.update(endpoints);
    const value = s.encode("ep-1");
    s.update(endpoints.filter((e) => e.id !== "ep-1"));
    expect(s.lookup(value)).toBe(-1);
  });

  const malformed: Array<string | undefined> = [undefined, "", "zz", "0123456789abcdef0"];
  for (const value of malformed) {
    test(`malformed or absent value ${JSON.stringify(value)} -> -1`, () => {
      const s = createStickySessions();
      s.update(pool([1]));
      expect(s.lookup(value)).toBe(-1);
    });
  }
});

describe("readCookie", () => {
  const table: Array<[string | undefined, string, string | undefined]> = [
    ["polis_sticky=abc", "polis_sticky", "abc"],
    ["a=1; polis_sticky=abc; b=2", "polis_sticky", "abc"],
    ["a=1;polis_sticky=abc", "polis_sticky", "abc"],
    ["xpolis_sticky=abc", "polis_sticky", undefined],
    ["polis_sticky_x=abc", "polis_sticky", undefined],
    ["a=1; b=2", "polis_sticky", undefined],
    ["polis_sticky=", "polis_sticky", ""],
    [undefined, "polis_sticky", undefined],
  ];
  for (const [header, name, expected] of table) {
    test(`${JSON.stringify(header)} -> ${JSON.stringify(expected)}`, () => {
      expect(readCookie(header, name)).toBe(expected);
    });
  }
});
