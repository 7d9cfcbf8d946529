// Messages every worker understands, whatever its subsystem.

/** A reply to a request, correlated by id. A failed request is data, not a crash. */
export type Reply =
  | { readonly t: "reply"; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly t: "reply"; readonly id: number; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/** Supervisor -> any worker. */
export type CommonToWorker =
  /** Full current state; sent at start and after every worker restart so the worker reconciles. */
  | { readonly t: "init"; readonly state: unknown }
  /** Round-trip check. */
  | { readonly t: "ping"; readonly id: number }
  /** Fault injection for tests (only sent when agent.allow_fault_injection is on). */
  | { readonly t: "crash"; readonly reason: string };

/** Any worker -> supervisor. */
export type CommonFromWorker =
  | Reply
  | { readonly t: "log"; readonly level: "debug" | "info" | "warn" | "error"; readonly msg: string; readonly fields?: Record<string, unknown> }
  /** High-rate messages flushed together once per interval. */
  | { readonly t: "batch"; readonly items: readonly unknown[] };
