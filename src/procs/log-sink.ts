// One replica's output: a ring of its last N lines in memory plus a size-capped, rotating log file.
//
// Memory and disk stay bounded however fast a replica writes: the ring holds at most `ringLines`
// lines of at most MAX_LINE_CHARS each; the files hold at most maxBytes × (files + 1) bytes.
import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Longer lines are cut: one runaway line must not pin megabytes in the ring. */
export const MAX_LINE_CHARS = 8 * 1024;

export interface LogSinkOptions {
  readonly dir: string | null;
  readonly baseName: string;
  readonly maxBytes: number;
  readonly files: number;
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
  private fd: number | null = null;
  private size = 0;
  private readonly path: string | null;

  constructor(private readonly opts: LogSinkOptions) {
    this.ring = new Array(Math.max(1, opts.ringLines));
    this.path = opts.dir ? join(opts.dir, `${opts.baseName}.log`) : null;
    if (this.path && opts.dir) {
      mkdirSync(opts.dir, { recursive: true });
      this.open();
    }
  }

  write(stream: "stdout" | "stderr", raw: string, at: number): RingEntry {
    const line = raw.length > MAX_LINE_CHARS ? `${raw.slice(0, MAX_LINE_CHARS)}… [cut ${raw.length - MAX_LINE_CHARS} chars]` : raw;
    const entry = { stream, line, at };
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.ring.length;
    this.count = Math.min(this.count + 1, this.ring.length);
    if (this.fd !== null) this.append(`${stream === "stderr" ? "E " : ""}${line}\n`);
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

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(): void {
    if (!this.path) return;
    this.fd = openSync(this.path, "a");
    try {
      this.size = statSync(this.path).size;
    } catch {
      this.size = 0;
    }
  }

  private append(text: string): void {
    const bytes = Buffer.byteLength(text);
    if (this.size + bytes > this.opts.maxBytes && this.size > 0) this.rotate();
    try {
      writeSync(this.fd!, text);
      this.size += bytes;
    } catch {
      // Disk full or dir removed: keep serving the ring rather than failing the replica.
    }
  }

  /** app.log → app.log.1 → … → app.log.N, dropping the oldest. */
  private rotate(): void {
    if (!this.path) return;
    this.close();
    const { files } = this.opts;
    try {
      rmSync(`${this.path}.${files}`, { force: true });
      for (let i = files - 1; i >= 1; i--) {
        try {
          renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        } catch {
          // that generation does not exist yet
        }
      }
      if (files > 0) renameSync(this.path, `${this.path}.1`);
      else rmSync(this.path, { force: true });
    } catch {
      // fall through: reopen whatever is there
    }
    this.open();
  }
}
