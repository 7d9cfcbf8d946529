// Simulate from the Scaling page: a metric series typed in (app-level totals per step) replayed through the app's
// policy by the agent (POST /v1/scaling/{app}/simulate); nothing is scaled. The decisions come back charted.
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { Badge, TimeChart } from "../lib.tsx";
import { type Decision, DecisionDetail, type Policy } from "./decision.tsx";

/** A typed series longer than this is a paste gone wrong, not a what-if. */
const MAX_POINTS = 2000;

export function parseSeries(text: string): number[] | string {
  const parts = text.split(/[\s,;]+/).filter((p) => p !== "");
  if (parts.length === 0) return "enter at least one value";
  if (parts.length > MAX_POINTS) return `at most ${MAX_POINTS} values (got ${parts.length})`;
  const out: number[] = [];
  for (const [i, p] of parts.entries()) {
    const v = Number(p);
    if (!Number.isFinite(v) || v < 0) return `value ${i + 1} ("${p}") is not a number ≥ 0`;
    out.push(v);
  }
  return out;
}

export function Simulate({ app, policy }: { app: string; policy: Policy }) {
  const [metric, setMetric] = useState(policy.metrics[0]?.name ?? "cpu");
  const [values, setValues] = useState("");
  const [step, setStep] = useState("15");
  const [initial, setInitial] = useState(String(Math.max(policy.min, 1)));
  const [result, setResult] = useState<{ decisions: Decision[]; values: number[]; start: number; step: number } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [hovered, setHovered] = useState<number | null>(null);
  const run = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const series = parseSeries(values);
    const stepS = Number(step);
    const init = Number(initial);
    if (typeof series === "string") return setError(`Values: ${series}`);
    if (!Number.isInteger(stepS) || stepS < 1 || stepS > 86_400) return setError("Step: a whole number of seconds, 1..86400");
    if (!Number.isInteger(init) || init < 0) return setError("Initial replicas: a whole number ≥ 0");
    const start = Math.floor(Date.now() / 1000) * 1000;
    setBusy(true);
    try {
      const out = await api<{ decisions: Decision[] }>(`/v1/scaling/${encodeURIComponent(app)}/simulate`, {
        method: "POST",
        body: { series: series.map((v, i) => ({ at: start + i * stepS * 1000, totals: { [metric]: v } })), initial_replicas: init },
      });
      setResult({ decisions: out.decisions, values: series, start, step: stepS });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const ds = result?.decisions ?? [];
  const t0 = result?.start ?? 0;
  return (
    <div class="simulate" data-testid="simulate">
      <h3 id={`sim-${app}`}>Simulate</h3>
      <form class="row actions" aria-labelledby={`sim-${app}`} noValidate onSubmit={run}>
        <label>
          Metric{" "}
          <select value={metric} onChange={(e) => setMetric((e.target as HTMLSelectElement).value)}>
            {policy.metrics.map((m) => <option key={m.name} value={m.name}>{m.name} (target {m.target})</option>)}
          </select>
        </label>
        <label>
          App total per step <input size={36} value={values} placeholder="100, 150, 300, 420, 380, 120" aria-describedby={`sim-help-${app}`} onInput={(e) => setValues((e.target as HTMLInputElement).value)} />
        </label>
        <label>Step (s) <input type="number" min={1} max={86400} value={step} onInput={(e) => setStep((e.target as HTMLInputElement).value)} /></label>
        <label>Start at <input type="number" min={0} value={initial} aria-label="initial replicas" onInput={(e) => setInitial((e.target as HTMLInputElement).value)} /> replicas</label>
        <button type="submit" class="primary" disabled={busy}>Run simulation</button>
      </form>
      <p class="muted" id={`sim-help-${app}`}>
        Totals are summed over replicas (cpu 240 = the load of 2.4 replicas at 100% of their request). The agent replays them through this app's policy, its windows and cooldowns included; nothing is scaled.
      </p>
      {error && <p class="problem" role="alert">{error}</p>}
      {result && (
        <div data-testid="simulation-result">
          <p role="status">
            {ds.length === 0 ? "No evaluation ran." : `${ds.length} evaluations, ${ds.filter((d) => d.desired !== d.current).length} change(s): ${ds[0]!.current} → ${ds[ds.length - 1]!.desired} replicas.`}
          </p>
          {ds.length > 0 && (
            <>
              <TimeChart
                x={[...ds.map((d) => d.at / 1000), (t0 + (result.values.length - 1) * result.step * 1000) / 1000]}
                series={[{ label: "desired replicas", values: [...ds.map((d) => d.desired), ds[ds.length - 1]!.desired], color: "--accent", stepped: true, points: true }]}
                label={`simulated replicas of ${app}: ${ds.map((d) => d.desired).join(", ")}`}
                height={140}
                onHover={setHovered}
              />
              <DecisionDetail d={hovered !== null ? ds[hovered] : undefined} />
              <table data-testid="simulated-decisions">
                <caption class="sr-only">Simulated decisions</caption>
                <thead><tr><th scope="col">At</th><th scope="col">{metric}</th><th scope="col">From → to</th><th scope="col">Action</th><th scope="col">Rule</th><th scope="col">Reason</th></tr></thead>
                <tbody>
                  {ds.map((d, i) => {
                    const k = Math.round((d.at - t0) / (result.step * 1000));
                    return (
                      <tr key={i}><td>+{Math.round((d.at - t0) / 1000)} s</td><td>{result.values[k] ?? "–"}</td><td>{d.current} → {d.desired}</td><td><Badge value={d.action} /></td><td>{d.rule}</td><td>{d.reason}</td></tr>
                    );
                  })}
                </tbody>
              </table>
            </>
          )}
        </div>
      )}
    </div>
  );
}
