// Line reader: lines split across chunks, a final line without newline, a bounded partial line.
import { describe, expect, test } from "bun:test";
import { readLines } from "../../../src/procs/line-reader.ts";
import { MAX_LINE_CHARS } from "../../../src/procs/log-sink.ts";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const s of chunks) c.enqueue(enc.encode(s));
      c.close();
    },
  });
}

describe("line reader", () => {
  test("joins lines split across chunks and keeps the unterminated tail", async () => {
    const lines: string[] = [];
    await readLines(streamOf(["he", "llo\nwor", "ld\n\nlast"]), (l) => lines.push(l));
    expect(lines).toEqual(["hello", "world", "", "last"]);
  });

  test("a writer that never sends a newline is flushed in bounded pieces", async () => {
    const lines: string[] = [];
    const chunk = "z".repeat(4096);
    await readLines(streamOf(Array(20).fill(chunk)), (l) => lines.push(l));
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(MAX_LINE_CHARS * 2 + 4096);
    expect(lines.join("").length).toBe(20 * 4096);
  });
});
