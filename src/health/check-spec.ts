// What one check is, and the validation that names every bad field before anything is scheduled.
import type { CheckSpec } from "../protocol/health.ts";
import { PROBE_KINDS } from "./registry.ts";

export type { CheckSpec };

export interface FieldError {
  field: string;
  message: string;
  value?: unknown;
}

/** Below this a probe loop turns into load (Consul's MinInterval: "we risk fork bombing a system"). */
export const MIN_INTERVAL_MS = 1000;

const positiveInt = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 1;

export function validateCheck(spec: Partial<CheckSpec>): FieldError[] {
  const errors: FieldError[] = [];
  const bad = (field: string, message: string, value: unknown) => errors.push({ field, message, value });
  if (typeof spec.id !== "string" || spec.id.length === 0) bad("id", "must be a non-empty string", spec.id);
  if (typeof spec.kind !== "string" || !(PROBE_KINDS as readonly string[]).includes(spec.kind)) {
    bad("kind", `unknown probe kind; expected one of ${PROBE_KINDS.join(", ")}`, spec.kind);
  }
  if (typeof spec.target !== "string" || (spec.kind !== "ttl" && spec.target.trim() === "")) bad("target", "must be a non-empty string", spec.target);
  const interval = spec.intervalMs;
  if (typeof interval !== "number" || !Number.isFinite(interval)) bad("intervalMs", "must be a number of milliseconds", interval);
  else if (interval < MIN_INTERVAL_MS) bad("intervalMs", `must be at least ${MIN_INTERVAL_MS} ms`, interval);
  if (typeof spec.timeoutMs !== "number" || !Number.isFinite(spec.timeoutMs) || spec.timeoutMs <= 0) {
    bad("timeoutMs", "must be a positive number of milliseconds", spec.timeoutMs);
  } else if (typeof interval === "number" && spec.timeoutMs >= interval) {
    bad("timeoutMs", `must be less than intervalMs (${interval})`, spec.timeoutMs);
  }
  const unhealthy = spec.unhealthyIntervalMs;
  if (unhealthy !== undefined) {
    if (typeof unhealthy !== "number" || !Number.isFinite(unhealthy)) bad("unhealthyIntervalMs", "must be a number of milliseconds", unhealthy);
    else if (unhealthy < MIN_INTERVAL_MS) bad("unhealthyIntervalMs", `must be at least ${MIN_INTERVAL_MS} ms`, unhealthy);
    else if (typeof spec.timeoutMs === "number" && spec.timeoutMs >= unhealthy) bad("unhealthyIntervalMs", `must be greater than timeoutMs (${spec.timeoutMs})`, unhealthy);
  }
  const t = spec.thresholds ?? {};
  for (const k of ["successBeforePassing", "failuresBeforeWarning", "failuresBeforeCritical"] as const) {
    if (t[k] !== undefined && !positiveInt(t[k])) bad(`thresholds.${k}`, "must be an integer >= 1", t[k]);
  }
  if (t.failuresBeforeWarning !== undefined && t.failuresBeforeCritical !== undefined && t.failuresBeforeWarning > t.failuresBeforeCritical) {
    bad("thresholds.failuresBeforeWarning", "must not exceed failuresBeforeCritical", t.failuresBeforeWarning);
  }
  const f = spec.flapping ?? {};
  if (f.window !== undefined && (!positiveInt(f.window) || f.window < 2)) bad("flapping.window", "must be an integer >= 2", f.window);
  const lo = f.lowPercent ?? 25;
  const hi = f.highPercent ?? 50;
  if (!(lo >= 0 && hi <= 100 && lo <= hi)) bad("flapping", "need 0 <= lowPercent <= highPercent <= 100", { lowPercent: lo, highPercent: hi });
  return errors;
}
