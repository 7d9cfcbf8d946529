// Line splitter: lines split across chunks, a final line without newline, a bounded partial line.
import { describe, expect, test } from "bun:test";
import { LineSplitter } from "../../../src/procs/line-reader.ts";
import { MAX_LINE_CHARS } from "../../../src/procs/log-sink.ts";

function split(chunks: string[]): string[] {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  const enc = new TextEncoder();
  for (const c of chunks) s.push(enc.encode(c));
  s.end();
  return lines;
}

describe("line splitter", () => {
  test("joins lines split across chunks and keeps the unterminated tail", () => {
    expect(split(["he", "llo\nwor", "ld\n\nlast"])).toEqual(["hello", "world", "", "last"]);
  });

  test("a character split between two chunks is decoded whole", () => {
    const bytes = new TextEncoder().encode("é\n");
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push(bytes.subarray(0, 1));
    s.push(bytes.subarray(1));
    expect(lines).toEqual(["é"]);
  });

  test("a writer that never sends a newline is flushed in bounded pieces", () => {
    const chunk = "z".repeat(4096);
    const lines = split(Array(20).fill(chunk));
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(MAX_LINE_CHARS * 2 + 4096);
    expect(lines.join("").length).toBe(20 * 4096);
  });

  test("after a gap the note is a line of its own and the fragment before the next newline is dropped", () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const enc = new TextEncoder();
    s.push(enc.encode("whole\nhalf"));
    s.gap("[gap]");
    s.push(enc.encode("ment of a lost line"));
    s.push(enc.encode("\nnext\n"));
    expect(lines).toEqual(["whole", "half", "[gap]", "next"]);
  });
});
