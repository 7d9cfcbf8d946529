// Messages between the supervisor and the health worker, and the check spec they carry. This file is the one list
// of what crosses the thread boundary; the checker (src/health) validates specs and reports with these shapes.
import type { FlapOptions } from "../core/health/flapping.ts";
import type { HistoryEntry, HistorySummary } from "../core/health/history.ts";
import type { Status } from "../core/health/status.ts";
import type { ThresholdOptions } from "../core/health/thresholds.ts";
import type { InitMessage } from "./common.ts";

export type { HistoryEntry, HistorySummary, Status };

/** One check as the health worker runs it: what to probe, how often, and how results become a status. */
export interface CheckSpec {
  id: string;
  kind: string;
  /** URL or host:port for network kinds, command line for "command", path for "file", ignored for "ttl". */
  target: string;
  intervalMs: number;
  /** Must be below intervalMs so that one run always ends before the next is due. */
  timeoutMs: number;
  /** Delay before the first run; without it the first run is staggered over the interval by the id's hash. */
  initialDelayMs?: number;
  /** Interval after a non-passing run (default intervalMs). */
  unhealthyIntervalMs?: number;
  thresholds?: ThresholdOptions;
  flapping?: FlapOptions;
  /** Kind-specific options (see src/health/probes/<kind>.ts). */
  options?: Record<string, unknown>;
}

export interface HealthInit {
  readonly checks: readonly CheckSpec[];
}

export interface CheckState {
  readonly checkId: string;
  readonly status: Status | null;
  readonly flapping: boolean;
  readonly phi?: number;
  readonly summary: HistorySummary;
}

/** Supervisor -> health, one-way. */
export type ToHealth =
  | InitMessage<HealthInit>
  /** The whole desired set: the worker adds, updates and removes checks to match. */
  | { readonly t: "health.set"; readonly checks: readonly CheckSpec[] };

/** Supervisor -> health requests and their replies. */
export type HealthRequests = {
  /** A TTL check's heartbeat; the reply is the check's state after it (null for an unknown check). */
  readonly "health.ttl": { readonly body: { readonly checkId: string; readonly status: "pass" | "warn" | "fail"; readonly note?: string }; readonly reply: CheckState | null };
  readonly "health.states": { readonly body: object; readonly reply: CheckState[] };
  readonly "health.history": { readonly body: { readonly checkId: string }; readonly reply: HistoryEntry[] };
};

/** Health -> supervisor: transitions only (after thresholds and flap damping), plus periodic summaries. */
export type FromHealth =
  | {
      readonly t: "health.changed";
      readonly checkId: string;
      readonly from: Status | null;
      readonly to: Status;
      readonly output: string;
      readonly latencyMs: number;
      readonly flapping: boolean;
    }
  | { readonly t: "health.result"; readonly checkId: string; readonly status: Status; readonly latencyMs: number }
  | { readonly t: "health.summary"; readonly states: readonly CheckState[] }
  | { readonly t: "health.invalid"; readonly checkId: string; readonly errors: ReadonlyArray<{ field: string; message: string }> };
