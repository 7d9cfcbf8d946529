// Where CLI output goes and how it looks: colour and symbols only on a terminal (NO_COLOR turns colour off), times in
// the local zone (TZ respected) with the date when it is not today.

export interface Style {
  readonly color: boolean;
  readonly symbols: boolean;
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
  /** A state word (ok, degraded, passing, critical, ...) with its colour and, on a terminal, a symbol. */
  state(s: string): string;
}

export interface Output {
  /** True when stdout is a terminal: live lines and screen redraws are allowed. */
  readonly tty: boolean;
  readonly style: Style;
  line(s: string): void;
  /** Raw write to stdout (no newline added). */
  write(s: string): void;
  error(s: string): void;
}

const GOOD = new Set(["ok", "ready", "passing", "running", "active", "done", "auto", "enabled", "alive"]);
const WARN = new Set(["degraded", "warning", "starting", "stopping", "backoff", "draining", "paused", "maintenance", "manual", "restarting", "suspect"]);
const BAD = new Set(["critical", "crash-loop", "failed", "exited", "ejected", "crashed", "error", "aborted"]);
const DIM = new Set(["stopped", "-", "unknown", "left"]);

export function createStyle(opts: { tty: boolean; env: Readonly<Record<string, string | undefined>> }): Style {
  // https://no-color.org: present and not empty disables colour.
  const color = opts.tty && !opts.env.NO_COLOR && opts.env.TERM !== "dumb";
  const symbols = opts.tty;
  const paint = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const green = paint("32");
  const yellow = paint("33");
  const red = paint("31");
  const dim = paint("2");
  const bold = paint("1");
  return {
    color,
    symbols,
    green,
    yellow,
    red,
    dim,
    bold,
    state(s) {
      const word = s.split(" ")[0] ?? s;
      if (GOOD.has(word)) return green(symbols ? `✓ ${s}` : s);
      if (WARN.has(word)) return yellow(symbols ? `! ${s}` : s);
      if (BAD.has(word)) return red(symbols ? `✗ ${s}` : s);
      if (DIM.has(word)) return dim(symbols ? `· ${s}` : s);
      return s;
    },
  };
}

export function createOutput(opts: {
  stdout?: { write(s: string): unknown; isTTY?: boolean };
  stderr?: { write(s: string): unknown };
  env?: Readonly<Record<string, string | undefined>>;
} = {}): Output {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const tty = stdout.isTTY === true;
  return {
    tty,
    style: createStyle({ tty, env: opts.env ?? process.env }),
    line: (s) => void stdout.write(`${s}\n`),
    write: (s) => void stdout.write(s),
    error: (s) => void stderr.write(`${s}\n`),
  };
}

/** Strips ANSI escapes, e.g. to measure a cell's printed width. */
export function visible(s: string): string {
  // biome-ignore lint: the escape is the point
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

const two = (n: number) => String(n).padStart(2, "0");

/** A timestamp in the local zone: "14:03:27" today, "2026-11-30 14:03:27" on another day. */
export function formatTime(ts: number | null | undefined, now: number = Date.now()): string {
  if (ts === null || ts === undefined || !Number.isFinite(ts)) return "-";
  const d = new Date(ts);
  const n = new Date(now);
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  const sameDay = d.getFullYear() === n.getFullYear() && d.getMonth() === n.getMonth() && d.getDate() === n.getDate();
  return sameDay ? time : `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${time}`;
}
