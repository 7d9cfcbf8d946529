// Locality-aware weights for a pool that mixes this node's endpoints with other nodes' (Envoy's priority levels
// with its overprovisioning factor). Tiers: 0 = this node, 1 = this zone, 2 = elsewhere (prefer "zone" merges
// 0 and 1; "none" makes one tier). A tier takes min(100%, healthy share x factor) of the traffic and the rest
// spills to the next; when even the sum falls short, the loads are normalised so traffic still goes somewhere.
// The result scales each member's weight so that its tier gets its load; a tier with no load gets weight 0 (out of
// rotation, still listed). Pure: plain arrays in, plain numbers out.

export type LocalityPrefer = "node" | "zone" | "none";

export interface LocalityMember {
  readonly node?: string;
  readonly zone?: string;
  readonly weight: number;
  readonly health: "passing" | "warning" | "critical";
  readonly draining: boolean;
}

/** Envoy's default: a tier at 72% healthy or better still takes all the traffic (72 x 1.4 >= 100). */
export const DEFAULT_OVERPROVISIONING = 1.4;
/** Enough resolution that a 1-in-1000 share still rounds to a weight of at least 1. */
const SCALE = 10_000;

export function tierOf(m: Pick<LocalityMember, "node" | "zone">, local: { node: string; zone: string }, prefer: LocalityPrefer): number {
  if (prefer === "none") return 0;
  const here = m.node === undefined || m.node === local.node;
  const sameZone = here || (local.zone !== "" && m.zone === local.zone);
  if (prefer === "zone") return sameZone ? 0 : 1;
  return here ? 0 : sameZone ? 1 : 2;
}

/** Each tier's share of the traffic in percent (index = tier), from each tier's healthy and total counts. */
export function tierLoads(tiers: ReadonlyArray<{ healthy: number; total: number }>, overprovisioning: number): number[] {
  const health = tiers.map((t) => (t.total === 0 ? 0 : Math.min(100, ((t.healthy / t.total) * 100) * overprovisioning)));
  const loads: number[] = [];
  let left = 100;
  for (const h of health) {
    const l = Math.min(left, h);
    loads.push(l);
    left -= l;
  }
  const sum = 100 - left;
  if (sum > 0 && sum < 100) for (let i = 0; i < loads.length; i++) loads[i] = (loads[i]! / sum) * 100;
  return loads;
}

/** The weight each member should carry (same order as `members`). Without remote members it is the input weight. */
export function localityWeights(members: readonly LocalityMember[], local: { node: string; zone: string }, prefer: LocalityPrefer, overprovisioning = DEFAULT_OVERPROVISIONING): number[] {
  const tierIdx = members.map((m) => tierOf(m, local, prefer));
  const n = Math.max(0, ...tierIdx) + 1;
  if (n === 1) return members.map((m) => m.weight);
  const counts = Array.from({ length: n }, () => ({ healthy: 0, total: 0, weight: 0 }));
  members.forEach((m, i) => {
    const c = counts[tierIdx[i]!]!;
    if (m.draining || !(m.weight > 0)) return;
    c.total++;
    if (m.health !== "critical") {
      c.healthy++;
      c.weight += m.weight;
    }
  });
  const loads = tierLoads(counts, overprovisioning);
  return members.map((m, i) => {
    const t = tierIdx[i]!;
    const c = counts[t]!;
    const load = loads[t]!;
    if (load <= 0 || c.weight === 0) return 0;
    // A critical member's weight does not matter (the pool excludes it); keep it nonzero so it is back at once.
    return Math.max(1, Math.round((load / 100) * SCALE * (m.weight / c.weight)));
  });
}
