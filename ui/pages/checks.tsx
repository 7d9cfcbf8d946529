// Checks: status, a strip of the last results, flapping marker and the last output; filter by status.
import { useState } from "preact/hooks";
import { Badge, fmtTime, NotConfigured, Problem, useResource } from "../lib.tsx";

interface Check {
  id: string;
  kind: string;
  target: string;
  source: string;
  app?: string;
  status: string | null;
  flapping: boolean;
  output?: string;
  since?: number;
}
interface History {
  results: Array<{ at: number; status: string; latencyMs: number; output: string }>;
}
/** Rows that fetch their own history strip; past this the table is paged. */
const PAGE = 50;
const STRIP = 20;

export function Checks() {
  const list = useResource<{ checks: Check[] }>("/v1/checks", 2000, ["health."]);
  const [filter, setFilter] = useState("all");
  const checks = (list.data?.checks ?? []).filter((c) => filter === "all" || (c.status ?? "pending") === filter);
  return (
    <section aria-labelledby="h-checks">
      <h1 id="h-checks">Checks</h1>
      {list.absent || (list.data && list.data.checks.length === 0) ? <NotConfigured what="A health check" /> : <Problem error={list.error} />}
      <div class="row actions">
        <label>
          Status{" "}
          <select value={filter} onChange={(e) => setFilter((e.target as HTMLSelectElement).value)}>
            {["all", "passing", "warning", "critical", "pending"].map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <span class="muted">{checks.length} shown</span>
      </div>
      <table>
        <thead>
          <tr><th scope="col">Check</th><th scope="col">Kind</th><th scope="col">Target</th><th scope="col">Status</th><th scope="col">Last {STRIP} results</th><th scope="col">Last output</th></tr>
        </thead>
        <tbody>
          {checks.slice(0, PAGE).map((c) => (
            <tr key={c.id} data-check={c.id}>
              <td>{c.id}{c.app ? <div class="muted">app {c.app}</div> : null}</td>
              <td>{c.kind}</td>
              <td>{c.target}</td>
              <td><Badge value={c.status ?? "pending"} />{c.flapping && <> <Badge value="flapping" /></>}{c.since ? <div class="muted">since {fmtTime(c.since)}</div> : null}</td>
              <td><Strip id={c.id} /></td>
              <td><code class="out">{c.output ?? ""}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
      {checks.length > PAGE && <p class="muted">Showing {PAGE} of {checks.length}; narrow with the status filter.</p>}
    </section>
  );
}

function Strip({ id }: { id: string }) {
  const h = useResource<History>(`/v1/checks/${encodeURIComponent(id)}/history`, 5000, []);
  const results = (h.data?.results ?? []).slice(-STRIP);
  return (
    <span class="strip" role="img" aria-label={`last ${results.length} results: ${results.filter((r) => r.status === "passing").length} passing`}>
      {results.map((r) => <i key={r.at} class={`s-${r.status}`} title={`${fmtTime(r.at)} ${r.status} ${r.latencyMs.toFixed(0)} ms ${r.output}`} />)}
    </span>
  );
}
