// THE rules a check must meet before it is scheduled: config validation (src/config/semantics.ts), the API and the
// health worker (src/health/check-spec.ts) all run this one function, so a check that passes `polis validate` runs.
//
// The rules speak of the wire spec's fields (intervalMs, timeoutMs...); a caller that shows them under other names
// (the config's `interval`, `timeout`...) passes `name`, which renames fields in paths and messages alike.
import type { FlapOptions } from "./flapping.ts";
import type { ThresholdOptions } from "./thresholds.ts";

export const PROBE_KINDS = ["http", "https", "tcp", "udp", "grpc", "command", "file", "ttl"] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

/** Below this a probe loop turns into load (Consul's MinInterval: "we risk fork bombing a system"). */
export const MIN_CHECK_INTERVAL_MS = 1000;

/** What the rules look at (the wire CheckSpec has these fields and more). */
export interface CheckShape {
  id: string;
  kind: string;
  target: string;
  intervalMs: number;
  timeoutMs: number;
  unhealthyIntervalMs?: number;
  thresholds?: ThresholdOptions;
  flapping?: FlapOptions;
  options?: Record<string, unknown>;
}

export interface FieldError {
  field: string;
  message: string;
  value?: unknown;
}

/** Kinds whose run takes no time (a TTL check reads its last push): their timeout is never used, so not checked. */
const INSTANT_KINDS: ReadonlySet<string> = new Set(["ttl"]);

const positiveInt = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 1;
const ms = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

export function validateCheck(spec: Partial<CheckShape>, name: (field: string) => string = (f) => f): FieldError[] {
  const errors: FieldError[] = [];
  const bad = (field: string, message: string, value: unknown) => errors.push({ field: name(field), message, value });
  const kind = spec.kind;
  if (typeof spec.id !== "string" || spec.id.length === 0) bad("id", "must be a non-empty string", spec.id);
  if (typeof kind !== "string" || !(PROBE_KINDS as readonly string[]).includes(kind)) {
    bad("kind", `unknown probe kind; expected one of ${PROBE_KINDS.join(", ")}`, kind);
  }
  if (typeof spec.target !== "string" || (kind !== "ttl" && spec.target.trim() === "")) {
    bad("target", `${typeof kind === "string" ? `a ${kind} check` : "a check"} needs a ${name("target")}`, spec.target);
  }
  const interval = spec.intervalMs;
  if (!ms(interval)) bad("intervalMs", "must be a number of milliseconds", interval);
  else if (interval < MIN_CHECK_INTERVAL_MS) bad("intervalMs", `must be at least ${MIN_CHECK_INTERVAL_MS} ms`, interval);
  const timeout = spec.timeoutMs;
  if (!ms(timeout) || timeout <= 0) bad("timeoutMs", "must be a positive number of milliseconds", timeout);
  // One run must end before the next is due; a kind that answers at once has nothing to time out.
  else if (!INSTANT_KINDS.has(kind ?? "") && ms(interval) && timeout >= interval) {
    bad("timeoutMs", `must be shorter than the ${name("intervalMs")} (${interval} ms)`, timeout);
  }
  const unhealthy = spec.unhealthyIntervalMs;
  if (unhealthy !== undefined) {
    if (!ms(unhealthy)) bad("unhealthyIntervalMs", "must be a number of milliseconds", unhealthy);
    else if (unhealthy < MIN_CHECK_INTERVAL_MS) bad("unhealthyIntervalMs", `must be at least ${MIN_CHECK_INTERVAL_MS} ms`, unhealthy);
    else if (!INSTANT_KINDS.has(kind ?? "") && ms(timeout) && timeout >= unhealthy) bad("unhealthyIntervalMs", `must be longer than the ${name("timeoutMs")} (${timeout} ms)`, unhealthy);
  }
  if (kind === "ttl") {
    const ttl = spec.options?.ttlMs;
    if (!ms(ttl) || ttl <= 0) bad("options.ttlMs", "a ttl check needs a ttl longer than 0 ms", ttl);
  }
  const t = spec.thresholds ?? {};
  for (const k of ["successBeforePassing", "failuresBeforeWarning", "failuresBeforeCritical"] as const) {
    if (t[k] !== undefined && !positiveInt(t[k])) bad(`thresholds.${k}`, "must be an integer >= 1", t[k]);
  }
  if (t.failuresBeforeWarning !== undefined && t.failuresBeforeCritical !== undefined && t.failuresBeforeWarning > t.failuresBeforeCritical) {
    bad("thresholds.failuresBeforeWarning", `must not exceed ${name("thresholds.failuresBeforeCritical")} (${t.failuresBeforeCritical})`, t.failuresBeforeWarning);
  }
  const f = spec.flapping ?? {};
  if (f.window !== undefined && (!positiveInt(f.window) || f.window < 2)) bad("flapping.window", "must be an integer >= 2", f.window);
  const lo = f.lowPercent ?? 25;
  const hi = f.highPercent ?? 50;
  if (!(lo >= 0 && lo <= 100)) bad("flapping.lowPercent", "must be between 0 and 100", lo);
  if (!(hi >= 0 && hi <= 100)) bad("flapping.highPercent", "must be between 0 and 100", hi);
  else if (lo > hi) bad("flapping.lowPercent", `must not exceed ${name("flapping.highPercent")} (${hi})`, lo);
  return errors;
}
