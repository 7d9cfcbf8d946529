// Scaling: per app the bounds, the replica count over time with each decision that acted, and its reasons.
import { Badge, fmtTime, NotConfigured, Problem, Spark, useResource } from "../lib.tsx";

interface Summary {
  at: number;
  current: number;
  desired: number;
  action: string;
  reason: string;
  rule: string;
  dryRun: boolean;
}
interface AppScaling {
  app: string;
  min: number;
  max: number;
  current: number;
  policy: unknown;
  last: Summary | null;
}

export function Scaling() {
  const list = useResource<{ apps: AppScaling[] }>("/v1/scaling", 2000, ["scale"]);
  const scaled = (list.data?.apps ?? []).filter((a) => a.policy !== null);
  return (
    <section aria-labelledby="h-scaling">
      <h1 id="h-scaling">Scaling</h1>
      {list.absent || (list.data && scaled.length === 0) ? <NotConfigured what="Autoscaling" /> : <Problem error={list.error} />}
      {scaled.map((a) => <AppHistory key={a.app} a={a} />)}
    </section>
  );
}

function AppHistory({ a }: { a: AppScaling }) {
  const h = useResource<{ decisions: Summary[] }>(`/v1/scaling/${encodeURIComponent(a.app)}/history?limit=200`, 5000, ["scale"]);
  const decisions = h.data?.decisions ?? [];
  return (
    <article aria-labelledby={`sc-${a.app}`}>
      <header class="row">
        <h2 id={`sc-${a.app}`}>{a.app}</h2>
        <span class="muted">{a.current} replicas · {a.min}..{a.max}</span>
        {a.last && <span>last: <Badge value={a.last.action} /> {a.last.reason}</span>}
      </header>
      <div class="row">
        <span class="muted">desired replicas, decision by decision</span>
        <Spark values={decisions.map((d) => d.desired)} label={`${a.app} desired replicas over its last ${decisions.length} decisions`} max={a.max} />
      </div>
      <table>
        <caption class="sr-only">Scaling decisions of {a.app}</caption>
        <thead><tr><th scope="col">Time</th><th scope="col">From → to</th><th scope="col">Action</th><th scope="col">Rule</th><th scope="col">Reason</th></tr></thead>
        <tbody>
          {decisions.slice(-20).reverse().map((d) => (
            <tr key={d.at}><td>{fmtTime(d.at)}</td><td>{d.current} → {d.desired}</td><td><Badge value={d.action} />{d.dryRun ? " (dry run)" : ""}</td><td>{d.rule}</td><td>{d.reason}</td></tr>
          ))}
        </tbody>
      </table>
      {decisions.length === 0 && <p class="empty">No decision has acted yet.</p>}
    </article>
  );
}
