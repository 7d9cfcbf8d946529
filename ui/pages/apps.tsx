// Apps: each app's replicas with state, revision, pid, port, uptime, restarts, CPU and memory; scale, rolling
// restart and per-replica restart, each behind a confirmation.
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { Action, Badge, fmtBytes, fmtDuration, Problem, Spark, useResource, useSeries } from "../lib.tsx";
import type { AppInfo, AppList } from "./types.ts";
import { Rollouts } from "./rollout.tsx";

export function Apps() {
  const apps = useResource<AppList>("/v1/apps", 2000, ["proc.", "app.", "scale", "deploy."]);
  const series = useSeries(60);
  const shown = apps.data !== undefined;
  useEffect(() => {
    // A mark the benchmark reads: navigation start to the first rendered apps table.
    if (shown && performance.getEntriesByName("polis:apps-rendered").length === 0) performance.mark("polis:apps-rendered");
  }, [shown]);
  return (
    <section aria-labelledby="h-apps">
      <h1 id="h-apps">Apps</h1>
      <Problem error={apps.error} />
      {apps.data && apps.data.apps.length === 0 && <p class="empty">No apps are configured.</p>}
      {apps.data?.apps.map((a) => <AppCard key={a.name} app={a} series={series} reload={apps.reload} />)}
    </section>
  );
}

function AppCard({ app, series, reload }: { app: AppInfo; series: ReturnType<typeof useSeries>; reload: () => void }) {
  const [target, setTarget] = useState(String(app.desired));
  const n = Number(target);
  const valid = Number.isInteger(n) && n >= app.min && n <= app.max;
  const rev = app.revision ? ` · revision ${app.revision.current}${app.revision.target !== app.revision.current ? ` → ${app.revision.target}` : ""}` : "";
  return (
    <article class="app" aria-labelledby={`app-${app.name}`} data-app={app.name}>
      <header class="row">
        <h2 id={`app-${app.name}`}>{app.name}</h2>
        <Badge value={app.state} />
        <span class="muted" data-testid="app-counts">
          {app.ready} ready of {app.desired} wanted · {app.min}..{app.max} · autoscaling {app.intent.autoscaling.mode}
          {rev}
        </span>
      </header>
      <div class="row actions">
        <label>
          Replicas{" "}
          <input type="number" min={app.min} max={app.max} value={target} aria-invalid={!valid} onInput={(e) => setTarget((e.target as HTMLInputElement).value)} />
        </label>
        <Action
          role="operator"
          label={`Scale ${app.name}`}
          title={`Scale ${app.name}`}
          detail={valid ? `Set ${app.name} to ${n} replicas (from ${app.desired}).${app.intent.autoscaling.mode === "auto" ? " This pauses its autoscaler for the configured manual pause." : ""}` : `Enter a count within ${app.min}..${app.max}.`}
          run={async () => {
            if (!valid) throw new Error(`${app.name} allows ${app.min}..${app.max} replicas`);
            await api(`/v1/apps/${encodeURIComponent(app.name)}/scale`, { method: "POST", body: { replicas: n } });
            reload();
          }}
        >
          Scale
        </Action>
        <Action
          role="operator"
          label={`Rolling restart ${app.name}`}
          title={`Rolling restart of ${app.name}`}
          detail="Each replica is replaced by a ready one before it stops."
          run={() => api(`/v1/apps/${encodeURIComponent(app.name)}/restart`, { method: "POST" })}
        >
          Rolling restart
        </Action>
      </div>
      <Rollouts app={app.name} />
      <table>
        <caption class="sr-only">Replicas of {app.name}</caption>
        <thead>
          <tr>
            <th scope="col">#</th><th scope="col">State</th><th scope="col">Rev</th><th scope="col">PID</th><th scope="col">Port</th>
            <th scope="col">Uptime</th><th scope="col">Restarts</th><th scope="col">CPU %</th><th scope="col">Memory</th><th scope="col">Last exit</th><th scope="col"><span class="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {app.replicas.map((r) => (
            <tr key={r.id} data-replica={r.id}>
              <td>{r.id}</td>
              <td data-testid="replica-state"><Badge value={r.state} /></td>
              <td>{r.revision || "–"}</td>
              <td data-testid="replica-pid">{r.pid ?? "–"}</td>
              <td>{r.port ?? "–"}</td>
              <td>{fmtDuration(r.uptimeMs)}</td>
              <td>{r.restarts}</td>
              <td class="spark-cell">
                <Spark values={series(`${app.name}/${r.id}/cpu`, r.cpuPercent)} label={`CPU of replica ${r.id}`} max={100} /> {r.cpuPercent.toFixed(1)}
              </td>
              <td class="spark-cell">
                <Spark values={series(`${app.name}/${r.id}/rss`, r.rssBytes / (1 << 20))} label={`memory MiB of replica ${r.id}`} /> {fmtBytes(r.rssBytes)}
              </td>
              <td>{r.lastExit ? `${r.lastExit.reason}${r.lastExit.signal ? ` (${r.lastExit.signal})` : r.lastExit.code !== null ? ` (${r.lastExit.code})` : ""}` : "–"}</td>
              <td>
                <Action
                  role="operator"
                  label={`Restart replica ${r.id} of ${app.name}`}
                  title={`Restart replica ${r.id} of ${app.name}`}
                  detail="It restarts on the same slot and port; the balancer sends its traffic to the others meanwhile."
                  run={() => api(`/v1/apps/${encodeURIComponent(app.name)}/replicas/${r.id}/restart`, { method: "POST" })}
                >
                  Restart
                </Action>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </article>
  );
}
