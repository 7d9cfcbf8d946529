// Balancers: each balancer's endpoints with health, weight, ejection and drain state; drain and weight actions.
import { api } from "../api.ts";
import { useState } from "preact/hooks";
import { Action, Badge, NotConfigured, Problem, Spark, useResource, useSeries, useWindow } from "../lib.tsx";
import type { Balancer, BalancerList, Endpoint } from "./types.ts";

/** Past this many endpoints the table is windowed: only the rows in view are in the page, so thousands scroll smoothly. */
const WINDOW_FROM = 100;
/** The height of one endpoint row (CSS `tr.ep` keeps it on one line), for the windowing arithmetic. */
const ROW_PX = 33;

export function Balancers() {
  const list = useResource<BalancerList>("/v1/balancers", 2000, ["balancer.", "endpoint.", "health."]);
  const series = useSeries(90);
  return (
    <section aria-labelledby="h-balancers">
      <h1 id="h-balancers">Balancers</h1>
      {list.absent || (list.data && list.data.balancers.length === 0) ? <NotConfigured what="A balancer" /> : <Problem error={list.error} />}
      {list.data?.balancers.map((b) => <BalancerCard key={b.name} b={b} reload={list.reload} series={series} />)}
    </section>
  );
}

function BalancerCard({ b, reload, series }: { b: Balancer; reload: () => void; series: ReturnType<typeof useSeries> }) {
  const s = b.stats;
  return (
    <article aria-labelledby={`lb-${b.name}`} data-balancer={b.name}>
      <header class="row">
        <h2 id={`lb-${b.name}`}>{b.name}</h2>
        <Badge value={b.listening ? "listening" : "down"} />
        <span class="muted">
          {b.protocol} on {b.listen} · {b.algorithm}
        </span>
      </header>
      {b.problem && <p class="problem">{b.problem}</p>}
      {s && (
        <div class="cards">
          <Stat label="req/s" value={s.ratesPerSecond.requests.toFixed(1)} values={series(`${b.name}/rps`, s.ratesPerSecond.requests)} />
          <Stat label="errors/s" value={s.ratesPerSecond.errors.toFixed(1)} values={series(`${b.name}/err`, s.ratesPerSecond.errors)} />
          <Stat label="p50 ms" value={s.latency.p50Ms.toFixed(1)} values={series(`${b.name}/p50`, s.latency.count > 0 ? s.latency.p50Ms : undefined)} />
          <Stat label="p95 ms" value={s.latency.p95Ms.toFixed(1)} values={series(`${b.name}/p95`, s.latency.count > 0 ? s.latency.p95Ms : undefined)} />
          <Stat label="p99 ms" value={s.latency.p99Ms.toFixed(1)} values={series(`${b.name}/p99`, s.latency.count > 0 ? s.latency.p99Ms : undefined)} />
          <Stat label="in flight" value={String(s.active)} values={series(`${b.name}/active`, s.active)} />
        </div>
      )}
      <EndpointTable b={b} reload={reload} />
    </article>
  );
}

function Stat({ label, value, values }: { label: string; value: string; values: number[] }) {
  return (
    <div class="card">
      <div class="card-label">{label}</div>
      <div class="row"><span class="card-value">{value}</span><Spark values={values} label={label} /></div>
    </div>
  );
}

function Weight({ b, e, reload }: { b: string; e: Endpoint; reload: () => void }) {
  const [w, setW] = useState(String(e.weight));
  const n = Number(w);
  const valid = Number.isInteger(n) && n >= 0 && n <= 65535;
  return (
    <span class="row">
      <input type="number" min={0} max={65535} value={w} aria-label={`weight of ${e.id}`} aria-invalid={!valid} onInput={(ev) => setW((ev.target as HTMLInputElement).value)} />
      {valid && n !== e.weight && (
        <Action role="operator" label={`Set weight of ${e.id}`} title={`Weight of ${e.id}`} detail={`Change the weight of ${e.address}:${e.port} on ${b} from ${e.weight} to ${n}.`} run={async () => {
          await api(`/v1/balancers/${encodeURIComponent(b)}/endpoints/${encodeURIComponent(e.id)}`, { method: "PATCH", body: { weight: n } });
          reload();
        }}>Set</Action>
      )}
    </span>
  );
}

/** The endpoint rows: its own component, so a scroll re-renders the rows only, not the card's charts. */
function EndpointTable({ b, reload }: { b: Balancer; reload: () => void }) {
  const windowed = b.endpoints.length > WINDOW_FROM;
  const w = useWindow(windowed ? b.endpoints.length : 0, ROW_PX);
  const shown = windowed ? b.endpoints.slice(w.start, w.end) : b.endpoints;
  return (
    <>
      {windowed && <p class="muted">{b.endpoints.length} endpoints; rows {w.start + 1}–{w.end} are in the page (scroll the table for the rest).</p>}
      <div ref={w.box} class={windowed ? "vscroll" : undefined} tabIndex={windowed ? 0 : undefined} role={windowed ? "region" : undefined} aria-label={windowed ? `endpoints of ${b.name}, scrollable` : undefined} data-testid="endpoint-scroll">
      <table aria-rowcount={windowed ? b.endpoints.length + 1 : undefined}>
        <caption class="sr-only">Endpoints of {b.name}</caption>
        <thead>
          <tr><th scope="col">Endpoint</th><th scope="col">Address</th><th scope="col">Health</th><th scope="col">Weight</th><th scope="col">State</th><th scope="col">In flight</th><th scope="col">req/s</th><th scope="col">p95 ms</th><th scope="col">Source</th><th scope="col"><span class="sr-only">Actions</span></th></tr>
        </thead>
        <tbody>
          {windowed && w.padTop > 0 && <tr aria-hidden="true" class="pad" style={{ height: `${w.padTop}px` }} />}
          {shown.map((e, i) => (
            <tr key={e.id} data-endpoint={e.id} class={windowed ? "ep" : undefined} data-vrow={windowed ? "" : undefined} aria-rowindex={windowed ? w.start + i + 2 : undefined}>
              <td>{e.id}</td>
              <td>{e.address}:{e.port}</td>
              <td><Badge value={e.health} /></td>
              <td><Weight b={b.name} e={e} reload={reload} /></td>
              <td data-testid="endpoint-state">{e.draining ? <Badge value="draining" /> : e.ejected ? <Badge value="ejected" /> : <Badge value="serving" />}</td>
              <td>{e.stats?.active ?? "–"}</td>
              <td>{e.stats ? e.stats.ratesPerSecond.requests.toFixed(1) : "–"}</td>
              <td>{e.stats && e.stats.latency.count > 0 ? e.stats.latency.p95Ms.toFixed(1) : "–"}</td>
              <td>{e.source}</td>
              <td>
                <Action
                  role="operator"
                  label={`Drain ${e.id} on ${b.name}`}
                  title={`Drain ${e.id}`}
                  detail={`${b.name} stops sending new traffic to ${e.address}:${e.port} and waits for what is in flight.`}
                  run={async () => {
                    await api(`/v1/balancers/${encodeURIComponent(b.name)}/endpoints/${encodeURIComponent(e.id)}/drain`, { method: "POST" });
                    reload();
                  }}
                >
                  Drain
                </Action>
              </td>
            </tr>
          ))}
          {windowed && w.padBottom > 0 && <tr aria-hidden="true" class="pad" style={{ height: `${w.padBottom}px` }} />}
        </tbody>
      </table>
      </div>
    </>
  );
}
