// Events: the live tail from the stream, filtered by type prefix and minimum severity, with pause; or, from a
// chosen sequence number, what the agent still keeps after it (the same filters, asked of the API) and then live.
import { useState } from "preact/hooks";
import { type AgentEvent, api, recentEvents } from "../api.ts";
import { Badge, fmtTime } from "../lib.tsx";

const RANK: Record<string, number> = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 };
/** The most one replay asks for; the agent's ring holds fewer than this by default. */
const REPLAY_LIMIT = 1000;
const SHOWN = 200;

interface Replay {
  since: number;
  events: AgentEvent[];
  /** The agent no longer kept some events right after `since`. */
  gap: boolean;
}

export function Events() {
  const [type, setType] = useState("");
  const [severity, setSeverity] = useState("debug");
  const [paused, setPaused] = useState<typeof recentEvents.value | undefined>();
  const [from, setFrom] = useState("");
  const [replay, setReplay] = useState<Replay | undefined>();
  const [error, setError] = useState<string | undefined>();
  const matches = (e: AgentEvent) => (type === "" || e.type.startsWith(type)) && (RANK[e.severity] ?? 0) >= (RANK[severity] ?? 0);
  const live = paused ?? recentEvents.value;
  let source: AgentEvent[];
  if (replay) {
    // The replayed page, then whatever the stream brought after its last event (each event once).
    const last = replay.events.length > 0 ? replay.events[replay.events.length - 1]!.seq : replay.since;
    source = replay.events.concat(live.filter((e) => e.seq > last));
  } else source = live;
  const filtered = source.filter(matches);
  // From a sequence the oldest come first (reading forward from it); the live tail shows the newest first.
  const shown = replay ? filtered.slice(0, SHOWN) : filtered.slice(-SHOWN).reverse();
  const load = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const since = Number(from);
    if (!Number.isInteger(since) || since < 0) return setError("Resume from: a sequence number (a whole number ≥ 0, as in the Seq column)");
    const q = new URLSearchParams({ since: String(since), limit: String(REPLAY_LIMIT), severity });
    if (type !== "") q.set("type", `${type.replace(/\*$/, "")}*`);
    try {
      const page = await api<{ events: AgentEvent[]; gap: boolean }>(`/v1/events?${q}`);
      setReplay({ since, events: page.events, gap: page.gap });
    } catch (err) {
      setError((err as Error).message);
    }
  };
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
      <form class="row actions" aria-label="Resume from a sequence number" noValidate onSubmit={load}>
        <label>Resume from sequence <input type="number" min={0} value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} /></label>
        <button type="submit">Load</button>
        {replay && <button type="button" onClick={() => setReplay(undefined)}>Back to the live tail</button>}
      </form>
      {error && <p class="problem" role="alert">{error}</p>}
      {replay && (
        <p class="muted" role="status" data-testid="replay-status">
          Events after #{replay.since}, oldest first: {replay.events.length} kept by the agent{replay.events.length >= REPLAY_LIMIT ? ` (the first ${REPLAY_LIMIT})` : ""}, then live.
          {replay.gap && <span class="problem"> Some events right after #{replay.since} are no longer kept by the agent.</span>}
        </p>
      )}
      <table data-testid="events">
        <caption class="sr-only">{replay ? `Events after sequence ${replay.since}` : "Latest events"}</caption>
        <thead><tr><th scope="col">Seq</th><th scope="col">Time</th><th scope="col">Severity</th><th scope="col">Type</th><th scope="col">Target</th><th scope="col">Message</th></tr></thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.seq} data-seq={e.seq}><td>{e.seq}</td><td>{fmtTime(e.ts)}</td><td><Badge value={e.severity} /></td><td><code>{e.type}</code></td><td>{e.target}</td><td>{e.message}</td></tr>
          ))}
        </tbody>
      </table>
      {replay && filtered.length > SHOWN && <p class="muted">Showing the first {SHOWN} of {filtered.length}; resume from #{shown[shown.length - 1]!.seq} for the next ones.</p>}
    </section>
  );
}
