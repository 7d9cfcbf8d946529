// One scaling decision as the Scaling page shows it: what it saw (per metric), the forecast's part, and why.
import { Badge, fmtTime } from "../lib.tsx";

interface Proposal {
  ok: boolean;
  replicas?: number;
  usageRatio?: number;
  current?: number;
  reason: string;
}
export interface Decision {
  at: number;
  current: number;
  desired: number;
  action: string;
  reason: string;
  rule: string;
  dryRun: boolean;
  notes?: string[];
  perMetric?: Array<{ metric: string; target: number; proposal: Proposal }>;
  forecast?: { used: boolean; recommendation: number | null; note: string } | null;
}
export interface Policy {
  min: number;
  max: number;
  metrics: Array<{ name: string; target: number }>;
  predictive: { enabled: boolean; weight: number; horizonSeconds: number; stepSeconds: number; method: string; maxMape: number };
}
/** What one decision saw and why it chose its count. */
export function DecisionDetail({ d }: { d: Decision | undefined }) {
  if (!d) return <p class="muted hover-hint">Point at a decision on the chart for its inputs and reason.</p>;
  return (
    <div class="decision" data-testid="decision-detail" aria-live="polite">
      <div class="row">
        <b>{fmtTime(d.at)}</b> {d.current} → {d.desired} <Badge value={d.action} /> <span>rule <code>{d.rule}</code></span>
        {d.dryRun && <Badge value="dry_run" />}
      </div>
      <div>{d.reason}</div>
      {d.perMetric?.map((m) => (
        <div key={m.metric} class="muted">
          {m.metric}: target {m.target}
          {m.proposal.ok ? `, current ${m.proposal.current?.toFixed(1)} (usage ${((m.proposal.usageRatio ?? 0) * 100).toFixed(0)}% of target) → ${m.proposal.replicas} replicas` : ""} · {m.proposal.reason}
        </div>
      ))}
      {d.forecast && <div class="muted">forecast: {d.forecast.note}</div>}
      {d.notes?.map((n) => <div key={n} class="muted">{n}</div>)}
    </div>
  );
}

