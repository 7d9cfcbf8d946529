// The one interface every probe kind implements: probe a target once, honouring the abort signal.
//
// Contract: a probe never throws for a target's failure (it resolves critical with the reason); it
// resolves soon after `signal` aborts; its output is bounded (see capture.ts). Scheduling, timeouts,
// thresholds and history belong to the checker, not to probes.
import type { Status } from "../core/health/status.ts";

export interface ProbeResult {
  status: Status;
  /** Human-readable, bounded; ends with "(captured N of M bytes)" when cut. */
  output: string;
  latencyMs: number;
}

export interface Probe {
  (target: string, signal: AbortSignal): Promise<ProbeResult>;
  /** Set by a probe that removes every listener it adds to `signal` before it settles: the checker may
   *  then hand the same (never aborted) signal to the next run instead of making one per run. */
  reusesSignal?: boolean;
}

/** Builds a probe from its options; throws a ProbeOptionsError for options it cannot use. */
export type ProbeFactory<O> = (options: O) => Probe;

export class ProbeOptionsError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "ProbeOptionsError";
  }
}

/** Default cap on a probe's output, as Consul's DefaultBufSize. */
export const OUTPUT_CAP_BYTES = 4096;

export function result(status: Status, output: string, startedAt: number): ProbeResult {
  return { status, output, latencyMs: Math.max(0, performance.now() - startedAt) };
}

export function abortReason(signal: AbortSignal): string {
  const r = signal.reason;
  if (r instanceof Error && r.name === "TimeoutError") return "timed out";
  return r instanceof Error ? r.message : "aborted";
}

/** Splits "host:port" or "[v6]:port"; returns null when malformed. */
export function parseHostPort(target: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(target) ?? /^([^:\s]+):(\d+)$/.exec(target);
  if (!m) return null;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: m[1], port };
}
