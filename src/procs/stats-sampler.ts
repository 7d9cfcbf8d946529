// One stats tick: CPU% and RSS summed over each live replica's process group, in one batch.
import { cpuPercent, scanGroups } from "./proc-stat.ts";
import type { Replica } from "./replica.ts";
import type { ReplicaStats } from "./types.ts";

export function sampleStats(apps: Iterable<{ replicas: Map<number, Replica> }>, nowMono: number): ReplicaStats[] {
  const live: Replica[] = [];
  for (const app of apps) for (const r of app.replicas.values()) if (r.run) live.push(r);
  const usage = scanGroups(new Set(live.map((r) => r.run!.pid)));
  const batch: ReplicaStats[] = [];
  for (const r of live) {
    const run = r.run!;
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
