// Messages on an agent's control socket (<data_dir>/agent.sock, one JSON object per line): a successor agent taking
// over from the running one (the incumbent), and `polis upgrade` asking the incumbent to start a successor.
//
//   successor                                  incumbent
//   takeover {pid, version}        ──▶         releases replicas, closes admin API and DNS, stops writing the store
//                                  ◀──         released {desired, passing}   (or refused {reason})
//   (adopts, binds beside it, waits until as many endpoints pass as the incumbent had)
//   ready                          ──▶         stops accepting, drains in-flight requests, exits
//                                  ◀──         draining                      (or resumed {reason}: it took everything back)
//   abort {reason}                 ──▶         takes everything back (also when the socket closes before ready)

/** Replica counts set at run time (API scale, autoscaler) and passing endpoints per balancer, at release. */
export interface Released {
  readonly t: "released";
  readonly pid: number;
  readonly version: string;
  readonly desired: Readonly<Record<string, number>>;
  readonly passing: Readonly<Record<string, number>>;
}

/** Successor or `polis upgrade` -> incumbent. */
export type ToIncumbent =
  | { readonly t: "takeover"; readonly pid: number; readonly version: string; readonly timeoutMs: number }
  | { readonly t: "ready" }
  | { readonly t: "abort"; readonly reason: string }
  | { readonly t: "upgrade"; readonly binary: string };

/** Incumbent -> successor or `polis upgrade`. */
export type FromIncumbent =
  | Released
  | { readonly t: "refused"; readonly reason: string }
  | { readonly t: "draining" }
  | { readonly t: "resumed"; readonly reason: string }
  | { readonly t: "upgrade-started"; readonly pid: number }
  | { readonly t: "upgrade-done"; readonly pid: number }
  | { readonly t: "upgrade-failed"; readonly reason: string };

export const TO_INCUMBENT_TAGS: ReadonlySet<string> = new Set<ToIncumbent["t"]>(["takeover", "ready", "abort", "upgrade"]);
export const FROM_INCUMBENT_TAGS: ReadonlySet<string> = new Set<FromIncumbent["t"]>([
  "released", "refused", "draining", "resumed", "upgrade-started", "upgrade-done", "upgrade-failed",
]);
