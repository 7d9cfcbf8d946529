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
// worker that is gone or stuck and do not count. A worker acts only on an excess two decisions in a row agree on
// (the smaller of the two), so a burst of new connections, which every worker sees before the others' reports do,
// closes nothing.

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

/** What the previous decision saw: a worker sheds only what two decisions in a row found above its share. */
export interface ConnBalanceState {
  readonly excess: number;
  /** When that decision was taken: a confirming one needs every peer to have reported since. */
  readonly at: number;
}

export const INITIAL_CONN_BALANCE: ConnBalanceState = { excess: 0, at: -Infinity };

export interface ShedDecision {
  readonly state: ConnBalanceState;
  /** Keep-alive connections to end after their current response (0: none): down to the fair share. */
  readonly shed: number;
  /** The fair share the decision used, and why. */
  readonly fair: number;
  /**
   * "unconfirmed": above the share for the first time. Counts travel between workers a tick late, so while
   * connections arrive (a client opening 50 at once) every worker briefly looks fuller than the others' last
   * reports say; acting on one look would close connections on every worker.
   */
  readonly reason: "no-peers" | "within-share" | "unconfirmed" | "above-share";
}

/** How many of this worker's `own` connections to close so the listener's connections even out. */
export function decideShed(
  state: ConnBalanceState, own: number, peers: Iterable<PeerCount>, now: number, opts: ConnBalanceOptions = CONN_BALANCE_DEFAULTS,
): ShedDecision {
  let total = own, workers = 1, fresh = true;
  for (const p of peers) {
    if (now - p.at > opts.staleMs) continue;
    total += p.active;
    workers++;
    if (p.at <= state.at) fresh = false;
  }
  if (workers === 1) return { state: INITIAL_CONN_BALANCE, shed: 0, fair: own, reason: "no-peers" };
  const fair = total / workers;
  const limit = Math.ceil(fair) + Math.max(opts.minSlack, Math.ceil(fair * opts.slackRatio));
  if (own <= limit) return { state: INITIAL_CONN_BALANCE, shed: 0, fair, reason: "within-share" };
  const excess = own - Math.ceil(fair);
  if (state.excess === 0) return { state: { excess, at: now }, shed: 0, fair, reason: "unconfirmed" };
  // No news from some peer since the last look: nothing confirms it yet (keep the earlier look to compare with).
  if (!fresh) return { state, shed: 0, fair, reason: "unconfirmed" };
  return { state: { excess, at: now }, shed: Math.min(excess, state.excess), fair, reason: "above-share" };
}
