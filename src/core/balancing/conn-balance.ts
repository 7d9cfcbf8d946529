// Connection balance between the balancer workers that share a listener (pure).
//
// The kernel spreads a SO_REUSEPORT listener's connections over the workers by a hash of the 4-tuple, so 50
// keep-alive connections can land 33/17; each worker gets about the same CPU, so the requests on the fuller one
// wait up to twice as long (the p99 follows the fullest worker). HAProxy's threads share one listener and hand each
// accepted connection to the least loaded thread; a SO_REUSEPORT listener cannot move a connection between threads,
// but an HTTP/1.1 server may end a keep-alive connection after any response (`Connection: close`, RFC 9112 9.6),
// and the client's next connection is hashed afresh. A worker above its fair share by more than the slack closes
// connections down to the fair share, one per response (about half of them come back to it, which the next report
// corrects); a worker within the slack never does, so connections only move from full workers to the others and
// the split cannot oscillate.
//
// Each worker reports its open connection count per listener to the others; reports older than `staleMs` are from a
// worker that is gone or stuck and do not count.

export interface PeerCount {
  readonly active: number;
  /** When the report was received (same clock as `now`). */
  readonly at: number;
}

export interface ConnBalanceOptions {
  /** A peer's report older than this is ignored (ms). */
  readonly staleMs: number;
  /** Connections above the fair share tolerated before any is closed: max(minSlack, ceil(fair * slackRatio)). */
  readonly minSlack: number;
  readonly slackRatio: number;
}

export const CONN_BALANCE_DEFAULTS: ConnBalanceOptions = { staleMs: 1_000, minSlack: 2, slackRatio: 0.05 };

export interface ShedDecision {
  /** Keep-alive connections to end after their current response (0: none): down to the fair share. */
  readonly shed: number;
  /** The fair share the decision used, and why. */
  readonly fair: number;
  readonly reason: "no-peers" | "within-share" | "above-share";
}

/** How many of this worker's `own` connections to close so the listener's connections even out. */
export function decideShed(own: number, peers: Iterable<PeerCount>, now: number, opts: ConnBalanceOptions = CONN_BALANCE_DEFAULTS): ShedDecision {
  let total = own, workers = 1;
  for (const p of peers) {
    if (now - p.at > opts.staleMs) continue;
    total += p.active;
    workers++;
  }
  if (workers === 1) return { shed: 0, fair: own, reason: "no-peers" };
  const fair = total / workers;
  const limit = Math.ceil(fair) + Math.max(opts.minSlack, Math.ceil(fair * opts.slackRatio));
  if (own <= limit) return { shed: 0, fair, reason: "within-share" };
  return { shed: own - Math.ceil(fair), fair, reason: "above-share" };
}
