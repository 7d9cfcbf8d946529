// Replica output that outlives whoever reads it: each replica writes its stdout and stderr into
// files it holds itself, and the manager tails those files.
//
// Why not pipes: a pipe's read end lives in the agent. When the agent (or only the procs worker
// thread) dies, the read end closes and the replica's next write kills it with SIGPIPE, so a
// replica that logs anything could never be adopted by the next agent. A file has no reader to
// lose: the replica keeps writing whatever happens to us.
//
// Files: `<dir>/<app>-<id>.stdout.log` and `.stderr.log`, opened O_APPEND (and O_CLOEXEC, so no
// other child inherits them) just before the spawn and handed to the child as fds 1 and 2; our
// copies are closed right after the spawn. The next process of the same slot appends to the same
// files. Without a configured log dir the manager uses a private temp dir.
//
// Tailing: one shared timer per manager. Each file is stat()ed every TAIL_INTERVAL_MS (every
// EAGER_INTERVAL_MS while a replica waits for its stdout readiness line); new bytes are read from
// the last offset, at most MAX_READ_PER_POLL per file per poll through one reused buffer, and split
// into lines (the unterminated rest waits for the next poll). No fd is held between polls. A size
// below our offset means someone truncated the file: we start again at 0. More than one poll's
// worth behind (a flood), we skip to the newest MAX_READ_PER_POLL bytes and say so in a line
// (`… [skipped N bytes of output]`): the ring then shows the latest output, the files keep the
// rest. Memory stays bounded however fast a replica writes: one buffer, one partial line
// (line-reader.ts) and the ring.
//
// Rotation (copytruncate): when a file passes maxBytes the poll shifts `.1`…`.files-1` up one
// (dropping `.files`), copies the file to `.1` and truncates it to 0 in place; the replica's
// O_APPEND writes simply continue at the new end. A copy keeps the whole file up to 2 × maxBytes;
// beyond that (a flood between two polls) only its last maxBytes, so every kept generation holds at
// most 2 × maxBytes and the live file maxBytes plus what the replica writes in one poll interval.
// Rotation happens after the poll's read, so the ring has seen the file up to that size. Bytes
// written between the copy and the truncation are lost (the known price of copytruncate). While
// no agent runs, nothing rotates: the files grow until the next agent tails them again.
//
// Adoption: the next agent resumes tailing an adopted replica's files from their current end.
import { closeSync, constants, copyFileSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { LineSplitter } from "./line-reader.ts";

export const TAIL_INTERVAL_MS = 100;
/** While a replica's readiness is a stdout line, its files are polled this often (readiness latency). */
export const EAGER_INTERVAL_MS = 5;
export const READ_CHUNK_BYTES = 64 * 1024;
/** Per file per poll: at most 2.5 MB/s per stream reaches the ring; the rest stays on disk only. */
export const MAX_READ_PER_POLL = 256 * 1024;
/** After an exit, what is left unread is drained up to this much per file. */
export const DRAIN_MAX_BYTES = 1024 * 1024;

export type Stream = "stdout" | "stderr";

export interface OutputPaths {
  readonly stdout: string;
  readonly stderr: string;
}

export interface Rotation {
  readonly maxBytes: number;
  readonly files: number;
}

export function outputPaths(dir: string, app: string, id: number): OutputPaths {
  return { stdout: join(dir, `${app}-${id}.stdout.log`), stderr: join(dir, `${app}-${id}.stderr.log`) };
}

const FRESH_APPEND = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;

/** Opens both files for appending (creating dir and files), or emptied first with `fresh` (O_TRUNC: one syscall, no
 * stat). The caller closes the fds after the spawn. */
export function openOutputFiles(dir: string, paths: OutputPaths, fresh = false): { stdout: number; stderr: number } {
  mkdirSync(dir, { recursive: true });
  // Appending either way: the runner cuts a file back to its limit while the process writes, and O_APPEND makes the
  // next write land at the new end (a plain offset would leave a hole as large as what was cut).
  const mode = fresh ? FRESH_APPEND : "a";
  const stdout = openSync(paths.stdout, mode);
  try {
    return { stdout, stderr: openSync(paths.stderr, mode) };
  } catch (e) {
    closeSync(stdout);
    throw e;
  }
}

/** Current size of a file, 0 when it does not exist (yet). */
export function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** One file being followed from an offset: new bytes become lines; it rotates the file when too big. */
export class FileTail {
  private offset: number;
  private readonly lines: LineSplitter;

  constructor(
    readonly path: string,
    private readonly rotation: Rotation,
    onLine: (line: string) => void,
    from: number,
  ) {
    this.offset = from;
    this.lines = new LineSplitter(onLine);
  }

  get position(): number {
    return this.offset;
  }

  /** Reads what was appended since the last poll (at most `budget` bytes) and rotates if the file is too big; returns the bytes read. */
  poll(buf: Buffer, budget = MAX_READ_PER_POLL): number {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch {
      return 0; // not created yet, or removed: nothing to read
    }
    if (size < this.offset) this.offset = 0; // truncated by someone else: start over
    if (size - this.offset > budget) {
      // Further behind than one poll reads: the newest output matters most, skip to it.
      const skipped = size - budget - this.offset;
      this.offset = size - budget;
      this.lines.gap(`… [skipped ${skipped} bytes of output]`);
    }
    let read = 0;
    if (size > this.offset) {
      let fd: number;
      try {
        fd = openSync(this.path, "r");
      } catch {
        return 0;
      }
      try {
        while (read < budget && this.offset < size) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, size - this.offset, budget - read), this.offset);
          if (n <= 0) break;
          this.offset += n;
          read += n;
          this.lines.push(buf.subarray(0, n));
        }
      } finally {
        closeSync(fd);
      }
    }
    if (size > this.rotation.maxBytes) this.rotate(buf);
    return read;
  }

  /** The writer is gone: its unterminated last line goes out. */
  end(): void {
    this.lines.end();
  }

  /** `.1` … `.files`, then copytruncate; the partial line is kept (the writer continues it at offset 0). */
  private rotate(buf: Buffer): void {
    const { maxBytes, files } = this.rotation;
    try {
      if (files > 0) {
        rmSync(`${this.path}.${files}`, { force: true });
        for (let i = files - 1; i >= 1; i--) {
          try {
            renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
          } catch {
            // that generation does not exist yet
          }
        }
        copyGeneration(this.path, `${this.path}.1`, maxBytes, buf);
      }
      truncateSync(this.path, 0);
      this.offset = 0;
    } catch {
      // Disk full, dir removed: the next poll tries again.
    }
  }
}

/** The whole file when it is at most 2 × maxBytes, else only its last maxBytes. */
function copyGeneration(from: string, to: string, maxBytes: number, buf: Buffer): void {
  const src = openSync(from, "r");
  try {
    const size = fstatSync(src).size;
    if (size <= 2 * maxBytes) return copyFileSync(from, to);
    const dst = openSync(to, "w");
    try {
      for (let pos = size - maxBytes; pos < size; ) {
        const n = readSync(src, buf, 0, Math.min(buf.length, size - pos), pos);
        if (n <= 0) break;
        writeSync(dst, buf, 0, n);
        pos += n;
      }
    } finally {
      closeSync(dst);
    }
  } finally {
    closeSync(src);
  }
}

interface Entry {
  readonly tail: FileTail;
  readonly eager: () => boolean;
  lastPoll: number;
}

/**
 * Every tail of one manager, polled by one timer that runs only while there is something to tail:
 * every EAGER_INTERVAL_MS while some tail is eager, else every TAIL_INTERVAL_MS.
 */
export class OutputTails {
  private readonly entries = new Map<FileTail, Entry>();
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDue = 0;

  constructor(private readonly onError: (message: string) => void = () => {}) {}

  get size(): number {
    return this.entries.size;
  }

  add(tail: FileTail, eager: () => boolean = () => false): void {
    this.entries.set(tail, { tail, eager, lastPoll: performance.now() });
    this.schedule();
  }

  /** Reads what is left (bounded), flushes the last partial line and forgets the tail. */
  finish(tail: FileTail): void {
    this.entries.delete(tail);
    this.guard(tail, () => {
      for (let total = 0; total < DRAIN_MAX_BYTES; ) {
        const n = tail.poll(this.buf, DRAIN_MAX_BYTES - total);
        if (n === 0) break;
        total += n;
      }
      tail.end();
    });
    if (this.entries.size === 0) this.stopTimer();
  }

  /** Forget every tail without reading further (manager shutdown). */
  stop(): void {
    this.entries.clear();
    this.stopTimer();
  }

  /** Arms the timer for the next poll, unless it is already armed for an earlier one. */
  private schedule(): void {
    if (this.entries.size === 0) return this.stopTimer();
    let eager = false;
    for (const e of this.entries.values()) if ((eager = e.eager())) break;
    const delay = eager ? EAGER_INTERVAL_MS : TAIL_INTERVAL_MS;
    const due = performance.now() + delay;
    if (this.timer && this.timerDue <= due) return;
    this.stopTimer();
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tick();
      this.schedule();
    }, delay);
    this.timer.unref?.();
  }

  private tick(): void {
    const now = performance.now();
    for (const e of this.entries.values()) {
      // A little slack: a timer armed for TAIL_INTERVAL_MS must find its tails due.
      if (now - e.lastPoll < TAIL_INTERVAL_MS - EAGER_INTERVAL_MS && !e.eager()) continue;
      e.lastPoll = now;
      this.guard(e.tail, () => e.tail.poll(this.buf));
    }
  }

  private guard(tail: FileTail, fn: () => unknown): void {
    try {
      fn();
    } catch (e) {
      this.onError(`tailing ${tail.path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
