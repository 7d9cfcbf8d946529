// An app's rollouts inside its card: the active one live (phase, step, traffic split, replicas per revision, the
// reason of its last decision) with promote, pause/resume and abort; the recent ones; roll back to a revision.
import { api } from "../api.ts";
import { Action, Badge, fmtTime, useResource } from "../lib.tsx";

interface RevisionCount {
  revision: number;
  total: number;
  ready: number;
  available: number;
}
export interface Rollout {
  id: string;
  kind: "deploy" | "rollback";
  status: string;
  active: boolean;
  from: number;
  to: number;
  phase: "forward" | "revert";
  paused: boolean;
  reason: string;
  failure: string | null;
  by: string;
  step: number | null;
  split: { revision: number; percent: number } | null;
  strategy: { strategy: string; steps: Array<{ weight: number; pause_ms: number | null }> };
  started_at: string;
  ended_at: string | null;
  live: { desired: number; revisions: RevisionCount[] } | null;
}
interface History {
  current: number;
  target: number;
  deployments: Rollout[];
}

const ts = (iso: string | null) => (iso ? fmtTime(Date.parse(iso)) : "–");

export function Rollouts({ app }: { app: string }) {
  // Every 5 s, and soon after any rollout or replica event: a running rollout moves on those.
  const h = useResource<History>(`/v1/apps/${encodeURIComponent(app)}/deployments`, 5000, ["deploy.", "proc."]);
  if (h.absent || !h.data) return null;
  const active = h.data.deployments.find((d) => d.active);
  const recent = h.data.deployments.filter((d) => !d.active).slice(0, 3);
  const path = (id: string, verb: string) => `/v1/apps/${encodeURIComponent(app)}/deployments/${encodeURIComponent(id)}/${verb}`;
  const act = (id: string, verb: string) => async () => {
    await api(path(id, verb), { method: "POST", body: {} });
    h.reload();
  };
  const previous = h.data.current > 1 ? h.data.current - 1 : undefined;
  return (
    <div class="rollouts" data-testid="rollouts">
      {active ? (
        <div class="rollout" role="group" aria-label={`rollout ${active.id} of ${app}`} data-rollout={active.id}>
          <div class="row">
            <b>{active.kind === "rollback" ? "Rollback" : "Rollout"} {active.id}</b>
            <span>revision {active.from} → {active.to}</span>
            <Badge value={active.paused ? "paused" : active.status} />
            {active.phase === "revert" && <Badge value="reverting" />}
            <span class="muted">{active.strategy.strategy} · by {active.by} · since {ts(active.started_at)}</span>
          </div>
          <div class="row">
            {active.strategy.steps.length > 0 && (
              <span data-testid="rollout-step">
                step {active.step === null ? "–" : active.step + 1} of {active.strategy.steps.length} ({active.strategy.steps.map((s) => `${s.weight}%`).join(" → ")})
              </span>
            )}
            <span data-testid="rollout-split">{active.split ? <Split split={active.split} from={active.from} /> : "traffic by replica count"}</span>
            <span class="muted" data-testid="rollout-reason">{active.reason}{active.failure ? ` · ${active.failure}` : ""}</span>
          </div>
          {active.live && (
            <table class="compact">
              <caption class="sr-only">Replicas per revision</caption>
              <thead><tr><th scope="col">Revision</th><th scope="col">Replicas</th><th scope="col">Ready</th><th scope="col">Available</th></tr></thead>
              <tbody>
                {active.live.revisions.map((r) => (
                  <tr key={r.revision}><td>{r.revision}{r.revision === active.to ? " (new)" : ""}</td><td>{r.total}</td><td>{r.ready}</td><td>{r.available}</td></tr>
                ))}
              </tbody>
            </table>
          )}
          <div class="row actions">
            {active.strategy.steps.length > 0 && active.phase === "forward" && (
              <Action role="operator" label={`Promote ${active.id}`} title={`Promote rollout ${active.id}`} detail={`Moves revision ${active.to} past its current traffic step (its pause and gate): the next step, or the replacement of the rest.`} run={act(active.id, "promote")}>Promote</Action>
            )}
            {active.paused ? (
              <Action role="operator" label={`Resume ${active.id}`} title={`Resume rollout ${active.id}`} detail="The rollout goes on from where it stopped (after a failure: it retries)." run={act(active.id, "resume")}>Resume</Action>
            ) : (
              <Action role="operator" label={`Pause ${active.id}`} title={`Pause rollout ${active.id}`} detail="Nothing more is started or retired until it is resumed." run={act(active.id, "pause")}>Pause</Action>
            )}
            {active.phase === "forward" && (
              <Action role="operator" label={`Abort ${active.id}`} title={`Abort rollout ${active.id}`} detail={`Reverts to revision ${active.from}; traffic goes back to it at once if any had shifted.`} run={act(active.id, "abort")}>Abort and revert</Action>
            )}
          </div>
        </div>
      ) : (
        previous !== undefined && (
          <div class="row actions">
            <span class="muted">runs revision {h.data.current}</span>
            <Action role="operator" label={`Roll back ${app}`} title={`Roll back ${app}`} detail={`Rolls ${app} back from revision ${h.data.current} to the revision before it, as a rollout with the app's strategy.`} run={async () => {
              await api(`/v1/apps/${encodeURIComponent(app)}/rollback`, { method: "POST", body: {} });
              h.reload();
            }}>Roll back</Action>
          </div>
        )
      )}
      {recent.length > 0 && (
        <ul class="plain muted">
          {recent.map((d) => (
            <li key={d.id}>{d.kind} {d.id}: {d.from} → {d.to} <Badge value={d.status} /> {ts(d.ended_at)} · {d.reason}{d.failure ? ` (${d.failure})` : ""}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Split({ split, from }: { split: { revision: number; percent: number }; from: number }) {
  return (
    <span class="split" role="img" aria-label={`revision ${split.revision} takes ${split.percent}% of the traffic`}>
      <span class="split-bar"><span class="split-new" style={{ width: `${split.percent}%` }} /></span> rev {split.revision}: {split.percent}% · rev {from}: {100 - split.percent}%
    </span>
  );
}
