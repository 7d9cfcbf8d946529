import { describe, expect, test } from "bun:test";
import { createCapture } from "../../../src/health/capture.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("capture", () => {
  test("keeps everything under the cap without a note", () => {
    const c = createCapture(10);
    c.push(bytes("hello"));
    expect(c.text()).toBe("hello");
    expect(c.full).toBe(false);
  });

  test("keeps the first cap bytes, counts the rest and says so", () => {
    const c = createCapture(4);
    c.push(bytes("abc"));
    c.push(bytes("defgh"));
    expect(c.kept).toBe(4);
    expect(c.total).toBe(8);
    expect(c.text()).toBe("abcd\n(captured 4 of 8 bytes)");
  });

  test("a total hint replaces the count when the rest was never read", () => {
    const c = createCapture(2);
    c.push(bytes("xyz"));
    expect(c.text("more than 3")).toBe("xy\n(captured 2 of more than 3 bytes)");
  });
});
