// One stats tick: CPU% and RSS summed over each live replica's processes (its process group, or the members of
// its cgroup when its driver names them: a container's processes are not in the runtime's group), in one batch.
import { cpuPercent, readProcStat, readRssBytes, scanGroups } from "./proc-stat.ts";
import type { Replica } from "./replica.ts";
import type { ReplicaStats } from "./types.ts";

export function sampleStats(apps: Iterable<{ replicas: Map<number, Replica> }>, nowMono: number): ReplicaStats[] {
  const live: Replica[] = [];
  for (const app of apps) for (const r of app.replicas.values()) if (r.run) live.push(r);
  const byGroup = new Set<number>();
  const byMembers = new Map<number, number[]>();
  for (const r of live) {
    const members = r.run!.driver?.members() ?? null;
    if (members) byMembers.set(r.run!.pid, members);
    else byGroup.add(r.run!.pid);
  }
  const usage = scanGroups(byGroup);
  for (const [pid, members] of byMembers) usage.set(pid, sumOf(members));
  const batch: ReplicaStats[] = [];
  for (const r of live) {
    const run = r.run!;
    r.usage = run.driver?.usage() ?? null;
    const u = usage.get(run.pid);
    if (!u) continue;
    r.cpuPercent = run.prevTicks === null ? 0 : cpuPercent(run.prevTicks, u.cpuTicks, nowMono - run.prevTicksAt);
    r.rssBytes = u.rssBytes;
    run.prevTicks = u.cpuTicks;
    run.prevTicksAt = nowMono;
    batch.push({ app: r.app, id: r.id, pid: run.pid, cpuPercent: r.cpuPercent, rssBytes: r.rssBytes, processes: u.processes });
  }
  return batch;
}

function sumOf(pids: readonly number[]): { cpuTicks: number; rssBytes: number; processes: number } {
  const u = { cpuTicks: 0, rssBytes: 0, processes: 0 };
  for (const pid of pids) {
    const st = readProcStat(pid);
    if (!st || st.state === "Z") continue;
    u.cpuTicks += st.cpuTicks;
    u.rssBytes += readRssBytes(pid) ?? 0;
    u.processes += 1;
  }
  return u;
}
