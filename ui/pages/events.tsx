// Events: the live tail from the stream, filtered by type prefix and minimum severity, with pause.
import { useState } from "preact/hooks";
import { recentEvents } from "../api.ts";
import { Badge, fmtTime } from "../lib.tsx";

const RANK: Record<string, number> = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 };

export function Events() {
  const [type, setType] = useState("");
  const [severity, setSeverity] = useState("debug");
  const [paused, setPaused] = useState<typeof recentEvents.value | undefined>();
  const source = paused ?? recentEvents.value;
  const shown = source.filter((e) => (type === "" || e.type.startsWith(type)) && (RANK[e.severity] ?? 0) >= (RANK[severity] ?? 0)).slice(-200).reverse();
  return (
    <section aria-labelledby="h-events">
      <h1 id="h-events">Events</h1>
      <div class="row actions">
        <label>Type starts with <input value={type} placeholder="proc." onInput={(e) => setType((e.target as HTMLInputElement).value)} /></label>
        <label>
          Minimum severity{" "}
          <select value={severity} onChange={(e) => setSeverity((e.target as HTMLSelectElement).value)}>
            {Object.keys(RANK).map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <button type="button" aria-pressed={paused !== undefined} onClick={() => setPaused(paused ? undefined : recentEvents.value)}>{paused ? "Resume" : "Pause"}</button>
      </div>
      <table>
        <thead><tr><th scope="col">Seq</th><th scope="col">Time</th><th scope="col">Severity</th><th scope="col">Type</th><th scope="col">Target</th><th scope="col">Message</th></tr></thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.seq}><td>{e.seq}</td><td>{fmtTime(e.ts)}</td><td><Badge value={e.severity} /></td><td><code>{e.type}</code></td><td>{e.target}</td><td>{e.message}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
