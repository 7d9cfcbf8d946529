// Structured JSON logs with levels; secret-looking fields are redacted before anything is written.

export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values never reach a log line. */
const SECRET_KEY = /token|secret|password|passwd|authorization|api[-_]?key|cookie|private[-_]?key/i;
/** Bearer credentials inside free text. */
const BEARER = /(bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return "[…]";
  if (typeof value === "string") return value.replace(BEARER, "$1[redacted]");
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === "object") {
    if (value instanceof Error) return { name: value.name, message: redact(value.message) };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? "[redacted]" : redact(v, depth + 1);
    return out;
  }
  return value;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  setLevel(level: LogLevel): void;
  /** The most recent lines (already redacted), oldest first. */
  tail(n: number): string[];
}

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  /** How many recent lines to keep for GET /v1/agent/logs. */
  keep?: number;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  let min = RANK[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const keep = opts.keep ?? 1000;
  const ring: string[] = [];
  const make = (base: Record<string, unknown>): Logger => {
    const log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
      if (RANK[level] < min) return;
      const line = JSON.stringify({
        ts: new Date().toISOString(),
        level,
        msg: redact(msg),
        ...(redact({ ...base, ...fields }) as Record<string, unknown>),
      });
      ring.push(line);
      if (ring.length > keep) ring.splice(0, ring.length - keep);
      write(line);
    };
    return {
      log,
      debug: (m, f) => log("debug", m, f),
      info: (m, f) => log("info", m, f),
      warn: (m, f) => log("warn", m, f),
      error: (m, f) => log("error", m, f),
      child: (fields) => make({ ...base, ...fields }),
      setLevel: (l) => {
        min = RANK[l];
      },
      tail: (n) => ring.slice(Math.max(0, ring.length - n)),
    };
  };
  return make({});
}
