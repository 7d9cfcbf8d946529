// Scaling: per autoscaled app the replica count over time with each decision marked (hover: its inputs and
// reason), the forecast per metric with its band (or why it abstains), and a simulation run from the page.
import { useMemo, useState } from "preact/hooks";
import { can } from "../api.ts";
import { Badge, fmtTime, NotConfigured, Problem, TimeChart, useResource } from "../lib.tsx";
import { type Decision, DecisionDetail, type Policy } from "./decision.tsx";
import { Simulate } from "./simulate.tsx";

interface Summary extends Decision {
  decision?: Decision;
}
interface AppScaling {
  app: string;
  min: number;
  max: number;
  current: number;
  policy: Policy | null;
  last: Summary | null;
}
type Outcome = { ok: true; method: string; mean: number[]; lower: number[]; upper: number[]; mape: number } | { ok: false; method: string; reason: string; detail: string };
interface Forecasts {
  forecasts: Array<{ metric: string; outcome: Outcome }>;
}

export function Scaling() {
  const list = useResource<{ apps: AppScaling[] }>("/v1/scaling", 2000, ["scale"]);
  const scaled = (list.data?.apps ?? []).filter((a) => a.policy !== null);
  return (
    <section aria-labelledby="h-scaling">
      <h1 id="h-scaling">Scaling</h1>
      {list.absent || (list.data && scaled.length === 0) ? <NotConfigured what="Autoscaling" /> : <Problem error={list.error} />}
      {scaled.map((a) => <AppScalingCard key={a.app} a={a} />)}
    </section>
  );
}

function AppScalingCard({ a }: { a: AppScaling }) {
  const h = useResource<{ decisions: Summary[] }>(`/v1/scaling/${encodeURIComponent(a.app)}/history?limit=200`, 5000, ["scale"]);
  const decisions = h.data?.decisions ?? [];
  const [hovered, setHovered] = useState<number | null>(null);
  // The count over time: each decision is a point (its desired count), held until the next; the last one reaches now.
  const { x, desired } = useMemo(() => {
    const xs = decisions.map((d) => d.at / 1000);
    const ys: Array<number | null> = decisions.map((d) => d.desired);
    if (decisions.length > 0) {
      xs.push(Date.now() / 1000);
      ys.push(decisions[decisions.length - 1]!.desired);
    }
    return { x: xs, desired: ys };
  }, [h.data]);
  const shown = hovered !== null && hovered < decisions.length ? decisions[hovered] : undefined;
  return (
    <article aria-labelledby={`sc-${a.app}`} data-scaling={a.app}>
      <header class="row">
        <h2 id={`sc-${a.app}`}>{a.app}</h2>
        <span class="muted">{a.current} replicas · {a.min}..{a.max} · {a.policy!.metrics.map((m) => `${m.name} → ${m.target}`).join(", ")}</span>
        {a.last && <span>last: <Badge value={a.last.action} /> {a.last.reason}</span>}
      </header>
      <h3>Replicas over time</h3>
      {decisions.length === 0 ? (
        <p class="empty">No decision has acted yet.</p>
      ) : (
        <>
          <TimeChart
            x={x}
            series={[{ label: "desired replicas", values: desired, color: "--accent", stepped: true, points: true }]}
            label={`${a.app}: desired replicas over its last ${decisions.length} decisions, now ${a.current}`}
            onHover={setHovered}
          />
          <DecisionDetail d={shown?.decision ?? shown} />
        </>
      )}
      <Forecast app={a.app} policy={a.policy!} />
      {can("operator") ? <Simulate app={a.app} policy={a.policy!} /> : <p class="muted">Simulating needs the operator role.</p>}
      <details>
        <summary>The last {Math.min(20, decisions.length)} decisions</summary>
        <table>
          <caption class="sr-only">Scaling decisions of {a.app}</caption>
          <thead><tr><th scope="col">Time</th><th scope="col">From → to</th><th scope="col">Action</th><th scope="col">Rule</th><th scope="col">Reason</th></tr></thead>
          <tbody>
            {decisions.slice(-20).reverse().map((d) => (
              <tr key={d.at}><td>{fmtTime(d.at)}</td><td>{d.current} → {d.desired}</td><td><Badge value={d.action} />{d.dryRun ? " (dry run)" : ""}</td><td>{d.rule}</td><td>{d.reason}</td></tr>
            ))}
          </tbody>
        </table>
      </details>
    </article>
  );
}

function Forecast({ app, policy }: { app: string; policy: Policy }) {
  const p = policy.predictive;
  return (
    <div data-testid="forecast">
      <h3>Forecast</h3>
      {p.enabled ? (
        <>
          <p class="muted">{`${p.method}, ${Math.round(p.horizonSeconds / 60)} min ahead in ${Math.round(p.stepSeconds / 60)}-min steps, blended with weight ${p.weight}; abstains above ${p.maxMape}% MAPE.`}</p>
          <Forecasts app={app} step={p.stepSeconds} />
        </>
      ) : (
        <p class="muted">Predictive scaling is off for this app (scaling.predictive.enabled in the config): it scales on its metrics alone.</p>
      )}
    </div>
  );
}

function Forecasts({ app, step }: { app: string; step: number }) {
  const f = useResource<Forecasts>(`/v1/scaling/${encodeURIComponent(app)}/forecast`, 10_000);
  return (
    <>
      <Problem error={f.error} />
      {f.data?.forecasts.length === 0 && <p class="empty">No metric has samples to forecast yet (latency is never forecast: it does not add up across replicas).</p>}
      {f.data?.forecasts.map((m) =>
        m.outcome.ok ? (
          <ForecastChart key={m.metric} metric={m.metric} o={m.outcome} step={step} />
        ) : (
          <p key={m.metric} data-forecast={m.metric}>
            <code>{m.metric}</code>: <Badge value="abstains" /> {m.outcome.reason} ({m.outcome.detail})
          </p>
        ),
      )}
    </>
  );
}

function ForecastChart({ metric, o, step }: { metric: string; o: Extract<Outcome, { ok: true }>; step: number }) {
  const now = Date.now() / 1000;
  const x = o.mean.map((_, i) => now + (i + 1) * step);
  return (
    <div data-forecast={metric}>
      <div class="row"><code>{metric}</code> <span class="muted">app total, {o.method}, MAPE {o.mape.toFixed(1)}%</span></div>
      <TimeChart
        x={x}
        series={[
          { label: "upper", values: o.upper, color: "--muted", dash: [4, 4] },
          { label: "lower", values: o.lower, color: "--muted", dash: [4, 4] },
          { label: "forecast", values: o.mean, color: "--accent" },
        ]}
        bands={[[0, 1]]}
        height={140}
        label={`${metric} forecast for the next ${o.mean.length} steps: from ${o.mean[0]?.toFixed(1)} to ${o.mean[o.mean.length - 1]?.toFixed(1)}`}
      />
    </div>
  );
}
