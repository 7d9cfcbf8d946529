// Overview: the agent and its workers, counts of what it runs, firing alerts, the last events, host CPU and memory.
import { recentEvents } from "../api.ts";
import { Badge, fmtDuration, fmtTime, Problem, Spark, useResource, useSeries } from "../lib.tsx";
import type { AlertList, AppList, BalancerList, CheckList } from "./types.ts";

interface AgentView {
  name: string;
  version: string;
  pid: number;
  uptimeMs: number;
  workers: Array<{ name: string; state: string; restarts: number; lastError?: string }>;
}
interface SystemView {
  cpu?: { loadPercent?: number };
  memory?: { total?: number; used?: number };
}

export function Overview() {
  const agent = useResource<AgentView>("/v1/agent", 2000, ["worker.", "agent."]);
  const apps = useResource<AppList>("/v1/apps", 2000, ["proc.", "app.", "scale"]);
  const checks = useResource<CheckList>("/v1/checks", 2000, ["health."]);
  const balancers = useResource<BalancerList>("/v1/balancers", 2000, ["balancer.", "endpoint."]);
  const alerts = useResource<AlertList>("/v1/alerts?state=firing", 2000, ["alert."]);
  // The host view reads disks and interfaces too: every 5 s is enough for a trend and cheap for the agent.
  const system = useResource<SystemView>("/v1/agent/system", 5000);
  const series = useSeries(60);
  const cpu = series("cpu", system.data?.cpu?.loadPercent);
  const mem = system.data?.memory?.total ? series("mem", (100 * (system.data.memory.used ?? 0)) / system.data.memory.total) : series("mem", undefined);
  const replicas = apps.data?.apps.reduce((n, a) => n + a.replicas.length, 0);
  const ready = apps.data?.apps.reduce((n, a) => n + a.ready, 0);
  const passing = checks.data?.checks.filter((c) => c.status === "passing").length;
  const firing = alerts.data?.alerts ?? [];
  return (
    <section aria-labelledby="h-overview">
      <h1 id="h-overview">Overview</h1>
      <Problem error={agent.error} />
      {agent.data && (
        <p class="lead">
          {agent.data.name} · polis {agent.data.version} · pid {agent.data.pid} · up {fmtDuration(agent.data.uptimeMs)}
        </p>
      )}
      <div class="cards">
        <Card label="Apps" value={apps.data?.apps.length} />
        <Card label="Replicas ready" value={replicas === undefined ? undefined : `${ready} / ${replicas}`} testid="replica-count" />
        <Card label="Checks passing" value={checks.absent ? "not configured" : checks.data ? `${passing} / ${checks.data.checks.length}` : undefined} />
        <Card label="Balancers" value={balancers.absent ? "not configured" : balancers.data?.balancers.length} />
        <Card label="Firing alerts" value={alerts.absent ? "not configured" : alerts.data ? firing.length : undefined} />
        <div class="card">
          <div class="card-label">Host CPU %</div>
          <Spark values={cpu} label="host CPU percent" max={100} />
        </div>
        <div class="card">
          <div class="card-label">Host memory %</div>
          <Spark values={mem} label="host memory percent" max={100} />
        </div>
      </div>
      <h2>Workers</h2>
      <table>
        <thead>
          <tr><th scope="col">Worker</th><th scope="col">State</th><th scope="col">Restarts</th><th scope="col">Last error</th></tr>
        </thead>
        <tbody>
          {agent.data?.workers.map((w) => (
            <tr key={w.name}><td>{w.name}</td><td><Badge value={w.state} /></td><td>{w.restarts}</td><td>{w.lastError ?? ""}</td></tr>
          ))}
        </tbody>
      </table>
      {firing.length > 0 && (
        <>
          <h2>Firing alerts</h2>
          <ul class="plain">
            {firing.slice(0, 10).map((a) => (
              <li key={a.id}><Badge value={a.severity} /> {a.name} <span class="muted">since {new Date(a.startsAt).toLocaleTimeString()}</span></li>
            ))}
          </ul>
        </>
      )}
      <h2>Last events</h2>
      <ol class="events" aria-live="polite">
        {recentEvents.value.slice(-12).reverse().map((e) => (
          <li key={e.seq}><span class="muted">{fmtTime(e.ts)}</span> <Badge value={e.severity} /> <code>{e.type}</code> {e.target} — {e.message}</li>
        ))}
      </ol>
    </section>
  );
}

function Card({ label, value, testid }: { label: string; value: string | number | undefined; testid?: string }) {
  return (
    <div class="card" data-testid={testid}>
      <div class="card-label">{label}</div>
      <div class="card-value">{value ?? "…"}</div>
    </div>
  );
}
