// Server-Sent Events streams of the admin API (events, log follow) share one keep-alive rule.

/** Bun.serve closes a connection idle for 10 s (its default idleTimeout): an idle stream sends a comment more often. */
export const SSE_KEEPALIVE_MS = 5_000;
