// Cluster commands: `polis members` (every node, like `consul members`) and `polis cluster` (the etcd link).
import type { Json } from "../../client/client.ts";
import type { CommandDef } from "../args.ts";
import { formatTime } from "../output.ts";
import { table } from "../table.ts";

export const members: CommandDef = {
  name: "members",
  summary: "cluster nodes: name, zone, address, status (alive, suspect, left, failed), version, last seen",
  details: "suspect means this agent cannot reach etcd, so what it shows may be stale. Without a cluster section the list is empty.",
  role: "read",
  examples: ["polis members", "polis members --json"],
  async run(ctx) {
    const r = await ctx.client().members();
    if (ctx.opts.json) {
      ctx.out.line(JSON.stringify(r, null, 2));
      return 0;
    }
    const now = Date.now();
    if (r.members.length === 0) {
      ctx.out.line("no cluster members (this agent has no cluster section, or has not reached etcd yet)");
      return 0;
    }
    ctx.out.line(
      table(
        ["node", "zone", "address", "status", "version", "cores", "load", "free ports", "last seen"],
        r.members.map((m: Json) => [`${m.name}${m.self ? " (self)" : ""}`, m.zone || "-", m.advertise, ctx.out.style.state(String(m.status)), m.version, m.capacity?.cores, m.capacity?.load1, m.capacity?.freePorts, formatTime(m.lastSeen, now)]),
      ),
    );
    return 0;
  },
};

export const cluster: CommandDef = {
  name: "cluster",
  summary: "the etcd link: connected, stale catalog, leader, revisions, watch lag, last resync",
  role: "read",
  examples: ["polis cluster"],
  async run(ctx) {
    const s = await ctx.client().clusterStatus();
    if (ctx.opts.json) {
      ctx.out.line(JSON.stringify(s, null, 2));
      return 0;
    }
    if (!s.enabled) {
      ctx.out.line("single host: no cluster section in the config");
      return 0;
    }
    const now = Date.now();
    const rows: Array<[string, unknown]> = [
      ["node", s.node],
      ["connected", s.connected ? `yes (${s.endpoint})` : "no"],
      ["catalog", s.stale ? `stale${s.staleSince ? ` since ${formatTime(s.staleSince, now)}` : ""}` : "current"],
      ["last error", s.lastError],
      ["leader", s.leaderId],
      ["revision", `${s.revision}${s.etcdRevision ? ` (etcd ${s.etcdRevision}, lag ${s.watchLagRevisions ?? 0})` : ""}`],
      ["watch lag", s.watchLagMs !== undefined ? `${s.watchLagMs} ms` : undefined],
      ["etcd round trip", s.rttMs !== undefined ? `${s.rttMs} ms` : undefined],
      ["last resync", s.lastResync ? `${formatTime(s.lastResync, now)} (${s.resyncs} in all)` : undefined],
      ["lease", s.leaseId],
      ["registered endpoints", s.registrations],
      ["remote endpoints", s.remoteEndpoints],
    ];
    for (const [k, v] of rows) ctx.out.line(`${k.padEnd(22)}${v === undefined || v === null ? "-" : String(v)}`);
    return 0;
  },
};
