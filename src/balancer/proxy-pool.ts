// What the proxies need from an endpoint pool: pick, feedback and an optional sticky cookie (the pool owns policy).
//
// The pool wraps the health-filtered endpoint set, a core/balancing Picker and an outlier
// detector; the proxies call it synchronously on every request or connection and never await.
// Draining is the pool's concern: a draining endpoint is simply never picked again, while the
// proxies let requests already sent to it finish.

export interface ProxyEndpoint {
  readonly id: string;
  readonly address: string;
  readonly port: number;
}

/**
 * Per-request view the pool picks from. One object per client connection, reused for every
 * request on it; its getters read the parsed head lazily, so a pool that needs no key costs nothing.
 */
export interface RequestContext {
  readonly clientIp: string;
  readonly method: string;
  /** 0 for the first try, then 1, 2 ... for retries. */
  readonly attempt: number;
  /** The endpoint the previous attempt failed on (retries should prefer another). */
  readonly previous: ProxyEndpoint | undefined;
  path(): string;
  header(lowerName: string): string | undefined;
  cookie(name: string): string | undefined;
}

/**
 * Outcome passed to onDone: an HTTP status, or an error kind when no usable response arrived. "client": the
 * client ended the exchange (closed, stopped reading, sent its body too slowly); says nothing about the upstream.
 */
export type ProxyOutcome = number | "connect" | "reset" | "timeout" | "protocol" | "client";

export interface ProxyPool<E extends ProxyEndpoint = ProxyEndpoint> {
  pick(ctx: RequestContext): E | undefined;
  onStart?(endpoint: E): void;
  onDone?(endpoint: E, latencyMs: number, outcome: ProxyOutcome): void;
  /** True when the pool has no endpoint at all (not merely none eligible): held requests may wait for one. */
  isEmpty?(): boolean;
  /** A Set-Cookie value to add to this response (sticky sessions), or undefined. */
  stickyCookie?(endpoint: E, ctx: RequestContext): string | undefined;
}

/** L4 pools see only the client address. */
export interface ConnectionContext {
  readonly clientIp: string;
  readonly clientPort: number;
  readonly attempt: number;
  readonly previous: ProxyEndpoint | undefined;
}

export interface L4Pool<E extends ProxyEndpoint = ProxyEndpoint> {
  pick(ctx: ConnectionContext): E | undefined;
  onStart?(endpoint: E): void;
  onDone?(endpoint: E, latencyMs: number, outcome: ProxyOutcome): void;
}
