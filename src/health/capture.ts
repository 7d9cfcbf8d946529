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
  // Grown on demand: most probes capture nothing or a few bytes, and allocating the full cap per run
  // (64 KiB for thousands of runs a second) would cost more than the probe itself.
  let buf = new Uint8Array(0);
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
        if (kept + n > buf.byteLength) {
          const grown = new Uint8Array(Math.min(cap, Math.max(kept + n, buf.byteLength * 2, 256)));
          grown.set(buf.subarray(0, kept));
          buf = grown;
        }
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
