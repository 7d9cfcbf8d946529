// One replica's recent output in memory: a ring of its last N lines, each of bounded length.
//
// The durable copy of a replica's output is the pair of files it writes itself (see output-tail.ts);
// this ring is what the logs API and followers read, filled by the tail of those files.

/** Longer lines are cut: one runaway line must not pin megabytes in the ring. */
export const MAX_LINE_CHARS = 8 * 1024;

export interface LogSinkOptions {
  readonly ringLines: number;
}

export interface RingEntry {
  readonly stream: "stdout" | "stderr";
  readonly line: string;
  readonly at: number;
}

export class LogSink {
  private readonly ring: (RingEntry | undefined)[];
  private next = 0;
  private count = 0;

  constructor(opts: LogSinkOptions) {
    this.ring = new Array(Math.max(1, opts.ringLines));
  }

  write(stream: "stdout" | "stderr", raw: string, at: number): RingEntry {
    const line = raw.length > MAX_LINE_CHARS ? `${raw.slice(0, MAX_LINE_CHARS)}… [cut ${raw.length - MAX_LINE_CHARS} chars]` : raw;
    const entry = { stream, line, at };
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.ring.length;
    this.count = Math.min(this.count + 1, this.ring.length);
    return entry;
  }

  /** The last `n` lines, oldest first. */
  tail(n = this.ring.length): RingEntry[] {
    const k = Math.min(n, this.count);
    const out: RingEntry[] = [];
    for (let i = k; i > 0; i--) {
      const e = this.ring[(this.next - i + this.ring.length) % this.ring.length];
      if (e) out.push(e);
    }
    return out;
  }
}
