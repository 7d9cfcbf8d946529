// Cluster: the etcd link and every member this agent knows.
import { Badge, fmtTime, NotConfigured, Problem, useResource } from "../lib.tsx";

interface Status {
  enabled: boolean;
  connected: boolean;
  stale: boolean;
  leader?: string;
}
interface Member {
  name: string;
  zone: string;
  advertise: string;
  status: string;
  version: string;
  lastSeen: number;
  self: boolean;
  capacity: { cores: number; memoryBytes: number; load1: number };
}

export function Cluster() {
  const status = useResource<Status>("/v1/cluster/status", 2000, ["cluster."]);
  const members = useResource<{ members: Member[] }>("/v1/cluster/members", 2000, ["cluster."]);
  if (status.absent || (status.data && !status.data.enabled)) {
    return (
      <section aria-labelledby="h-cluster">
        <h1 id="h-cluster">Cluster</h1>
        <NotConfigured what="A cluster (etcd)" />
      </section>
    );
  }
  return (
    <section aria-labelledby="h-cluster">
      <h1 id="h-cluster">Cluster</h1>
      <Problem error={status.error ?? members.error} />
      {status.data && (
        <p class="row">
          etcd <Badge value={status.data.connected ? "connected" : "down"} /> {status.data.stale && <Badge value="stale" />} {status.data.leader ? <span class="muted">leader {status.data.leader}</span> : null}
        </p>
      )}
      <table>
        <thead><tr><th scope="col">Node</th><th scope="col">Zone</th><th scope="col">Address</th><th scope="col">Status</th><th scope="col">Version</th><th scope="col">Cores</th><th scope="col">Load</th><th scope="col">Last seen</th></tr></thead>
        <tbody>
          {members.data?.members.map((m) => (
            <tr key={m.name}><td>{m.name}{m.self ? " (this agent)" : ""}</td><td>{m.zone}</td><td>{m.advertise}</td><td><Badge value={m.status} /></td><td>{m.version}</td><td>{m.capacity.cores}</td><td>{m.capacity.load1.toFixed(2)}</td><td>{fmtTime(m.lastSeen)}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
