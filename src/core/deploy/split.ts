// Revision-weighted traffic: the effective weight of each endpoint of an app so that the revision in the split
// takes exactly `percent` of the picks and the other revisions the rest, whatever the replica counts. Within each
// side the endpoints keep their own weights' proportions (operator weights, locality, health factors), and the
// sum of all weights stays what it was (a hash ring keeps its point budget). Applied where the supervisor builds
// each balancer's pool, so the per-request pick is untouched and every weight-aware algorithm honours it.

export interface SplitMember {
  readonly weight: number;
  /** Takes traffic at all: passing or warning, not draining, weight > 0. */
  readonly eligible: boolean;
  /** Runs the split's revision. */
  readonly inSplit: boolean;
}

/**
 * The weights to use, index for index; null when the split cannot apply (one side has no eligible endpoint:
 * traffic then follows the pool's own weights rather than going nowhere).
 */
export function splitWeights(members: readonly SplitMember[], percent: number): number[] | null {
  let a = 0;
  let b = 0;
  for (const m of members) {
    if (!m.eligible) continue;
    if (m.inSplit) a += m.weight;
    else b += m.weight;
  }
  if (a <= 0 || b <= 0) return null;
  const p = Math.min(100, Math.max(0, percent)) / 100;
  const total = a + b;
  // percent 0 or 100 gives one side weight 0, which takes it out of rotation (it drains no connection).
  const fa = (p * total) / a;
  const fb = ((1 - p) * total) / b;
  return members.map((m) => m.weight * (m.inSplit ? fa : fb));
}
