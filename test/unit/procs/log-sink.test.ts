// Log sink: the ring keeps the last N lines, long lines are cut, files rotate under a size cap.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogSink, MAX_LINE_CHARS } from "../../../src/procs/log-sink.ts";

function withDir(fn: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), "polis-log-sink-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("log sink", () => {
  test("the ring returns the last N lines oldest first", () => {
    const sink = new LogSink({ dir: null, baseName: "a", maxBytes: 1, files: 1, ringLines: 3 });
    for (let i = 0; i < 10; i++) sink.write("stdout", `line ${i}`, i);
    expect(sink.tail().map((e) => e.line)).toEqual(["line 7", "line 8", "line 9"]);
    expect(sink.tail(2).map((e) => e.line)).toEqual(["line 8", "line 9"]);
  });

  test("a line longer than the cap is cut and says how much was dropped", () => {
    const sink = new LogSink({ dir: null, baseName: "a", maxBytes: 1, files: 1, ringLines: 3 });
    sink.write("stdout", "y".repeat(MAX_LINE_CHARS + 50), 0);
    expect(sink.tail()[0]!.line.endsWith("[cut 50 chars]")).toBe(true);
  });

  test("files rotate: at most `files` old generations, each under maxBytes", () =>
    withDir((dir) => {
      const sink = new LogSink({ dir, baseName: "app-0", maxBytes: 100, files: 2, ringLines: 3 });
      for (let i = 0; i < 50; i++) sink.write(i % 2 ? "stderr" : "stdout", `message number ${i}`, i);
      sink.close();
      expect(readdirSync(dir).sort()).toEqual(["app-0.log", "app-0.log.1", "app-0.log.2"]);
      for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(100);
      const newest = readFileSync(join(dir, "app-0.log"), "utf8");
      expect(newest).toContain("E message number 49");
    }));

  test("an existing log file is appended to and its size counted", () =>
    withDir((dir) => {
      const a = new LogSink({ dir, baseName: "x", maxBytes: 30, files: 1, ringLines: 1 });
      a.write("stdout", "0123456789", 0);
      a.close();
      const b = new LogSink({ dir, baseName: "x", maxBytes: 30, files: 1, ringLines: 1 });
      b.write("stdout", "0123456789", 0);
      b.write("stdout", "0123456789", 0);
      b.close();
      expect(readFileSync(join(dir, "x.log.1"), "utf8")).toBe("0123456789\n0123456789\n");
      expect(readFileSync(join(dir, "x.log"), "utf8")).toBe("0123456789\n");
    }));
});
