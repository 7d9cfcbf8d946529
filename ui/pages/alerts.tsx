// Alerts: firing and acknowledged alerts first, with acknowledge and resolve.
import { api } from "../api.ts";
import { Action, Badge, NotConfigured, Problem, useResource } from "../lib.tsx";
import type { AlertList } from "./types.ts";

export function Alerts() {
  const list = useResource<AlertList>("/v1/alerts", 2000, ["alert.", "silence."]);
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
                  {a.state !== "resolved" && <Action role="operator" label={`Resolve ${a.name}`} title={`Resolve ${a.name}`} detail="Resolves it by hand; a condition still true raises it again." run={act(a.id, "resolve")}>Resolve</Action>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
