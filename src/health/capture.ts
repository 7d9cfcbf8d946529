// Bounded capture of bytes from outside: keeps the first `cap` bytes, counts the rest, and says so.
export interface Capture {
  push(chunk: Uint8Array): void;
  /** Bytes kept (at most cap). */
  bytes(): Uint8Array;
  readonly kept: number;
  readonly total: number;
  readonly full: boolean;
  /** Kept bytes as text, with "(captured N of M bytes)" appended when something was dropped. */
  text(totalHint?: string): string;
}

export function createCapture(cap: number): Capture {
  const buf = new Uint8Array(cap);
  let kept = 0;
  let total = 0;
  return {
    get kept() {
      return kept;
    },
    get total() {
      return total;
    },
    get full() {
      return kept >= cap;
    },
    push: function pushChunk(chunk) {
      total += chunk.byteLength;
      const room = cap - kept;
      if (room > 0) {
        const n = Math.min(room, chunk.byteLength);
        buf.set(chunk.subarray(0, n), kept);
        kept += n;
      }
    },
    bytes: () => buf.subarray(0, kept),
    text: function captureText(totalHint) {
      const s = new TextDecoder().decode(buf.subarray(0, kept));
      if (total <= kept && totalHint === undefined) return s;
      return `${s}\n(captured ${kept} of ${totalHint ?? total} bytes)`;
    },
  };
}
