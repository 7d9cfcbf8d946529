// Several metric proposals into one, as Kubernetes' computeReplicasForMetrics: the largest wins; an invalid metric only lets the app grow.
import type { MetricProposal } from "./hpa.ts";

export interface NamedProposal {
  readonly metric: string;
  readonly proposal: MetricProposal;
}

export const COMBINE_REASON = {
  largest: "largest-proposal",
  allInvalid: "all-metrics-invalid",
  invalidBlocksScaleDown: "invalid-metric-blocks-scale-down",
  noMetrics: "no-metrics",
} as const;

export type CombineReason = (typeof COMBINE_REASON)[keyof typeof COMBINE_REASON];

export type Combined =
  | { readonly ok: true; readonly replicas: number; readonly metric: string; readonly reason: CombineReason; readonly invalid: readonly string[] }
  | { readonly ok: false; readonly reason: CombineReason; readonly invalid: readonly string[] };

/**
 * Kubernetes refuses to act (keeps the current count) when every metric is invalid, or when some
 * are invalid and the valid ones would shrink the app: the missing signal might have said "grow".
 */
export function combineProposals(currentReplicas: number, proposals: readonly NamedProposal[]): Combined {
  const invalid: string[] = [];
  let best = -1;
  let metric = "";
  for (const { metric: name, proposal } of proposals) {
    if (!proposal.ok) {
      invalid.push(name);
      continue;
    }
    if (proposal.replicas > best) {
      best = proposal.replicas;
      metric = name;
    }
  }
  if (proposals.length === 0) return { ok: false, reason: COMBINE_REASON.noMetrics, invalid };
  if (best < 0) return { ok: false, reason: COMBINE_REASON.allInvalid, invalid };
  if (invalid.length > 0 && best < currentReplicas) return { ok: false, reason: COMBINE_REASON.invalidBlocksScaleDown, invalid };
  return { ok: true, replicas: best, metric, reason: COMBINE_REASON.largest, invalid };
}
