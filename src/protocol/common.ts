// Messages every worker understands, whatever its subsystem, and the types that tie a request to its reply.

/** A reply to a request, correlated by id. A failed request is data, not a crash. */
export type Reply =
  | { readonly t: "reply"; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly t: "reply"; readonly id: number; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/**
 * A worker kind's requests: each tag names the body it carries (without `t` and `id`) and the reply it gets.
 * Callers name only the tag; the reply type follows from it, so a misspelt tag or a wrong body does not compile.
 */
export type RequestMap = { readonly [t: string]: { readonly body: object; readonly reply: unknown } };

/** The wire form of one request of a map: its tag, the id its reply carries, and its body. */
export type RequestMessage<R extends RequestMap> = { [K in keyof R & string]: { readonly t: K; readonly id: number } & R[K]["body"] }[keyof R & string];

/** What a caller passes for request `K`: the tag and the body (the port adds the id). */
export type RequestInput<R extends RequestMap, K extends keyof R & string> = { readonly t: K } & R[K]["body"];

/** Full current state; sent at start and after every worker restart so the worker reconciles. */
export interface InitMessage<S> {
  readonly t: "init";
  readonly state: S;
}

/** The init state a worker kind's inbound union carries. */
export type InitOf<ToWorker> = Extract<ToWorker, { t: "init" }> extends InitMessage<infer S> ? S : never;

/** Requests every worker answers. */
export type CommonRequests = {
  /** Round-trip check. */
  readonly ping: { readonly body: object; readonly reply: { readonly pong: true } };
};

/** Supervisor -> any worker (one-way). */
export type CommonToWorker =
  /** Fault injection for tests (only sent when agent.allow_fault_injection is on). */
  { readonly t: "crash"; readonly reason: string };

/** A worker's log line, written by the supervisor's logger with the worker's name. */
export type WorkerLog = { readonly t: "log"; readonly level: "debug" | "info" | "warn" | "error"; readonly msg: string; readonly fields?: Record<string, unknown> };

/** Any worker -> supervisor. */
export type CommonFromWorker =
  | Reply
  | WorkerLog
  /** High-rate messages flushed together once per interval. */
  | { readonly t: "batch"; readonly items: readonly unknown[] };
