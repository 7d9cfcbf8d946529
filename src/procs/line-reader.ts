// Splits a child's output bytes into lines and hands each to a callback, with a bounded partial line.
import { MAX_LINE_CHARS } from "./log-sink.ts";

export class LineSplitter {
  private readonly decoder = new TextDecoder();
  private partial = "";
  /** After a gap the bytes up to the next newline are the end of a line we never saw: dropped. */
  private resync = false;

  constructor(private readonly onLine: (line: string) => void) {}

  /** Feed the next bytes; every complete line goes out now, the unterminated rest waits for more. */
  push(chunk: Uint8Array): void {
    this.partial += this.decoder.decode(chunk, { stream: true });
    let start = 0;
    if (this.resync) {
      const nl = this.partial.indexOf("\n");
      if (nl === -1) {
        this.partial = "";
        return;
      }
      this.resync = false;
      start = nl + 1;
    }
    for (let nl = this.partial.indexOf("\n", start); nl !== -1; nl = this.partial.indexOf("\n", start)) {
      this.onLine(this.partial.slice(start, nl));
      start = nl + 1;
    }
    this.partial = this.partial.slice(start);
    // A writer that never sends a newline must not grow this buffer without bound.
    if (this.partial.length > MAX_LINE_CHARS * 2) {
      this.onLine(this.partial);
      this.partial = "";
    }
  }

  /** Some bytes will never be seen: say so in a line of its own, then resume at the next full line. */
  gap(note: string): void {
    if (this.partial.length > 0) this.onLine(this.partial);
    this.onLine(note);
    this.partial = "";
    this.decoder.decode(); // forget a half-decoded character
    this.resync = true;
  }

  /** The writer is gone: what is left is its last line. */
  end(): void {
    this.partial += this.decoder.decode();
    if (this.partial.length > 0) this.onLine(this.partial);
    this.partial = "";
  }
}
