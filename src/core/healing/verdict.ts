// One health verdict per replica from every signal the agent has: the endpoint's health (checks and phi accrual,
// merged by the health link), outlier ejection by the balancers, and the replica's own state (crash loop, failed).
// A replica that is starting, stopping or waiting out its restart backoff has no verdict: procs restarts it with its
// own backoff, and the ladder waits instead of counting that as a failure. One that exited or stopped for good did so
// by its restart policy (mode never, a clean exit): the ladder does not override that either. A crash loop is a
// failure. An ejection counts only when it happened to the replica's current process (a kill's connection errors
// eject the old process's endpoint for a while; the restarted one is not to blame).
export type ReplicaPhase = "starting" | "ready" | "stopping" | "backoff" | "crash-loop" | "exited" | "failed" | "stopped";

export interface VerdictInput {
  readonly state: ReplicaPhase;
  /** The endpoint's merged health (checks + phi); absent for a replica with no endpoint. */
  readonly health?: "passing" | "warning" | "critical" | "unknown";
  /** Some balancer ejected the endpoint (consecutive 5xx or gateway failures) since the current process was seen ready. */
  readonly ejected: boolean;
}

export const VerdictReason = {
  Passing: "passing",
  Critical: "endpoint_critical",
  Ejected: "outlier_ejected",
  CrashLoop: "crash_loop",
  Transient: "transient",
} as const;
export type VerdictReason = (typeof VerdictReason)[keyof typeof VerdictReason];

export type Verdict = { readonly healthy: boolean; readonly reason: VerdictReason } | { readonly healthy: null; readonly reason: typeof VerdictReason.Transient };

export function verdictOf(i: VerdictInput): Verdict {
  if (i.state === "crash-loop") return { healthy: false, reason: VerdictReason.CrashLoop };
  if (i.state !== "ready") return { healthy: null, reason: VerdictReason.Transient };
  if (i.health === "critical") return { healthy: false, reason: VerdictReason.Critical };
  if (i.ejected) return { healthy: false, reason: VerdictReason.Ejected };
  return { healthy: true, reason: VerdictReason.Passing };
}
