// Log ring: the last N lines, long lines cut.
import { describe, expect, test } from "bun:test";
import { LogSink, MAX_LINE_CHARS } from "../../../src/procs/log-sink.ts";

describe("log sink", () => {
  test("the ring returns the last N lines oldest first", () => {
    const sink = new LogSink({ ringLines: 3 });
    for (let i = 0; i < 10; i++) sink.write("stdout", `line ${i}`, i);
    expect(sink.tail().map((e) => e.line)).toEqual(["line 7", "line 8", "line 9"]);
    expect(sink.tail(2).map((e) => e.line)).toEqual(["line 8", "line 9"]);
  });

  test("a line longer than the cap is cut and says how much was dropped", () => {
    const sink = new LogSink({ ringLines: 3 });
    sink.write("stdout", "y".repeat(MAX_LINE_CHARS + 50), 0);
    expect(sink.tail()[0]!.line.endsWith("[cut 50 chars]")).toBe(true);
  });
});
