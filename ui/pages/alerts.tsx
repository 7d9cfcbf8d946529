// Alerts: firing and acknowledged alerts first, with acknowledge, resolve and silence; the silences, created and
// expired from here.
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { Action, Badge, NotConfigured, Problem, useResource } from "../lib.tsx";
import type { AlertList } from "./types.ts";

export function Alerts() {
  const list = useResource<AlertList>("/v1/alerts", 2000, ["alert.", "silence."]);
  const [matchers, setMatchers] = useState("");
  const act = (id: string, what: "acknowledge" | "resolve") => async () => {
    await api(`/v1/alerts/${encodeURIComponent(id)}/${what}`, { method: "POST", body: {} });
    list.reload();
  };
  return (
    <section aria-labelledby="h-alerts">
      <h1 id="h-alerts">Alerts</h1>
      {list.absent ? <NotConfigured what="Alerting" /> : <Problem error={list.error} />}
      {list.data && list.data.alerts.length === 0 && <p class="empty">No alerts.</p>}
      {list.data && list.data.alerts.length > 0 && (
        <table>
          <thead>
            <tr><th scope="col">Alert</th><th scope="col">Severity</th><th scope="col">State</th><th scope="col">Since</th><th scope="col">Seen</th><th scope="col">Labels</th><th scope="col"><span class="sr-only">Actions</span></th></tr>
          </thead>
          <tbody>
            {list.data.alerts.map((a) => (
              <tr key={a.id} data-alert={a.id}>
                <td>{a.name}{a.annotations.summary ? <div class="muted">{a.annotations.summary}</div> : null}</td>
                <td><Badge value={a.severity} /></td>
                <td data-testid="alert-state"><Badge value={a.state} />{a.acknowledgedBy ? <span class="muted"> by {a.acknowledgedBy}</span> : null}</td>
                <td>{new Date(a.startsAt).toLocaleString()}</td>
                <td>{a.occurrences}×</td>
                <td>{Object.entries(a.labels).map(([k, v]) => <code key={k}>{k}={v} </code>)}</td>
                <td class="row">
                  {a.state === "firing" && <Action role="operator" label={`Acknowledge ${a.name}`} title={`Acknowledge ${a.name}`} detail="Marks it seen: repeat notifications stop." run={act(a.id, "acknowledge")}>Acknowledge</Action>}
                  {a.state !== "resolved" && (
                    <button type="button" aria-label={`Silence ${a.name}`} title="Fills the silence form below with this alert's labels" onClick={() => {
                      setMatchers([`alertname=${a.name}`, ...Object.entries(a.labels).filter(([k]) => k !== "alertname" && k !== "severity").map(([k, v]) => `${k}=${v}`)].join(", "));
                      document.getElementById("silence-matchers")?.focus();
                    }}>Silence…</button>
                  )}
                  {a.state !== "resolved" && <Action role="operator" label={`Resolve ${a.name}`} title={`Resolve ${a.name}`} detail="Resolves it by hand; a condition still true raises it again." run={act(a.id, "resolve")}>Resolve</Action>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!list.absent && <Silences matchers={matchers} setMatchers={setMatchers} />}
    </section>
  );
}

interface Silence {
  id: string;
  matchers: string[];
  state: "pending" | "active" | "expired";
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}
const DURATIONS = ["15m", "1h", "4h", "12h", "1d", "7d"];

/** The silences, newest first, with a form that creates one (matchers as Alertmanager writes them). */
function Silences({ matchers, setMatchers }: { matchers: string; setMatchers: (m: string) => void }) {
  const list = useResource<{ silences: Silence[] }>("/v1/silences", 5000, ["silence."]);
  const [duration, setDuration] = useState("1h");
  const [comment, setComment] = useState("");
  const parsed = matchers.split(/[,\n]/).map((m) => m.trim()).filter((m) => m !== "");
  const shown = (list.data?.silences ?? []).filter((s) => s.state !== "expired").concat((list.data?.silences ?? []).filter((s) => s.state === "expired").slice(0, 10));
  return (
    <>
      <h2 id="h-silences">Silences</h2>
      <Problem error={list.error} />
      <form class="row actions" aria-labelledby="h-silences" onSubmit={(e) => e.preventDefault()}>
        <label>Matchers <input id="silence-matchers" size={40} value={matchers} placeholder="alertname=DiskFilling, host=edge-1" onInput={(e) => setMatchers((e.target as HTMLInputElement).value)} /></label>
        <label>
          For{" "}
          <select value={duration} onChange={(e) => setDuration((e.target as HTMLSelectElement).value)}>
            {DURATIONS.map((d) => <option key={d} value={d}>{d}</option>)}
          </select>
        </label>
        <label>Comment <input size={28} value={comment} placeholder="why, and who to ask" onInput={(e) => setComment((e.target as HTMLInputElement).value)} /></label>
        <Action
          role="operator"
          label="Create silence"
          title="Create a silence"
          detail={parsed.length === 0 ? "Enter at least one matcher (NAME=VALUE, NAME!=VALUE, NAME=~REGEX, NAME!~REGEX)." : `Silence every alert matching ${parsed.join(" and ")} for ${duration}${comment ? `: "${comment}"` : ""}. Matching alerts stay listed but send no notification.`}
          run={async () => {
            if (parsed.length === 0) throw new Error("enter at least one matcher, e.g. alertname=DiskFilling");
            if (comment.trim() === "") throw new Error("a silence needs a comment: say why, so the next person knows");
            await api("/v1/silences", { method: "POST", body: { matchers: parsed, duration, comment: comment.trim() } });
            setMatchers("");
            setComment("");
            list.reload();
          }}
        >
          Silence
        </Action>
      </form>
      {list.data && list.data.silences.length === 0 && <p class="empty">No silences.</p>}
      {shown.length > 0 && (
        <table>
          <caption class="sr-only">Silences</caption>
          <thead><tr><th scope="col">Matchers</th><th scope="col">State</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">By</th><th scope="col">Comment</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {shown.map((s) => (
              <tr key={s.id} data-silence={s.id}>
                <td>{s.matchers.map((m) => <code key={m}>{m} </code>)}</td>
                <td data-testid="silence-state"><Badge value={s.state} /></td>
                <td>{new Date(s.startsAt).toLocaleString()}</td>
                <td>{new Date(s.endsAt).toLocaleString()}</td>
                <td>{s.createdBy}</td>
                <td>{s.comment}</td>
                <td>
                  {s.state !== "expired" && (
                    <Action role="operator" label={`Expire silence ${s.id}`} title="Expire this silence now" detail={`Alerts matching ${s.matchers.join(" and ")} notify again from now on.`} run={async () => {
                      await api(`/v1/silences/${encodeURIComponent(s.id)}`, { method: "DELETE" });
                      list.reload();
                    }}>Expire</Action>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
