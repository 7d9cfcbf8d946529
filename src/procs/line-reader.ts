// Splits a child's output stream into lines and hands each to a callback, with a bounded partial line.
import { MAX_LINE_CHARS } from "./log-sink.ts";

/** Reads until the stream ends; resolves then (never rejects). */
export async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  try {
    for await (const chunk of stream) {
      partial += decoder.decode(chunk, { stream: true });
      let start = 0;
      for (let nl = partial.indexOf("\n", start); nl !== -1; nl = partial.indexOf("\n", start)) {
        onLine(partial.slice(start, nl));
        start = nl + 1;
      }
      partial = partial.slice(start);
      // A writer that never sends a newline must not grow this buffer without bound.
      if (partial.length > MAX_LINE_CHARS * 2) {
        onLine(partial);
        partial = "";
      }
    }
  } catch {
    // the pipe broke because the child died; what we have is all there is
  }
  partial += decoder.decode();
  if (partial.length > 0) onLine(partial);
}
