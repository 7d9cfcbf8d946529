// Cluster commands: `polis members` (every node, like `consul members`), `polis cluster` (the etcd link),
// `polis cluster apps` (cluster apps: placed, pending, unplaceable and why), `polis cluster allocations` (slot -> node)
// and `polis cluster config|apply FILE` (the cluster-wide config sections in etcd).
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import type { Json } from "../../client/client.ts";
import { type CommandContext, type CommandDef, UsageError } from "../args.ts";
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

async function clusterApps(ctx: Parameters<CommandDef["run"]>[0]): Promise<number> {
  const c = ctx.client();
  const [r, l] = await Promise.all([c.clusterApps(), c.clusterLeader()]);
  if (ctx.opts.json) return ctx.out.line(JSON.stringify({ ...r, leader: l.leader }, null, 2)), 0;
  if (!l.enabled) return ctx.out.line("single host: no cluster section in the config"), 0;
  const leader = l.leader as Json | undefined;
  ctx.out.line(`leader: ${leader?.node ?? "none known"}${leader?.self ? " (this agent)" : ""}${leader?.term ? `, term ${leader.term}` : ""}${leader?.connected === false ? " (last known: no etcd session)" : ""}`);
  if (r.apps.length === 0) return ctx.out.line("no cluster apps (apps[].placement.scope: cluster)"), 0;
  ctx.out.line(
    table(
      ["app", "replicas", "placed", "pending", "unplaceable", "spread", "per node"],
      r.apps.map((a: Json) => [a.name, a.replicas, a.placed, a.pending, (a.unplaceable as Json[]).length, a.spread, Object.entries(a.nodes as Record<string, number>).map(([n, k]) => `${n}=${k}`).join(" ") || "-"]),
    ),
  );
  for (const a of r.apps as Json[]) for (const u of a.unplaceable as Json[]) ctx.out.line(`${ctx.out.style.state("critical")} ${a.name}/${u.slot}: ${u.reason}`);
  return 0;
}

async function clusterAllocations(ctx: Parameters<CommandDef["run"]>[0]): Promise<number> {
  const q = new URLSearchParams();
  if (typeof ctx.opts.app === "string") q.set("app", ctx.opts.app);
  if (typeof ctx.opts.node === "string") q.set("node", ctx.opts.node);
  const r = await ctx.client().clusterAllocations(q.toString());
  if (ctx.opts.json) return ctx.out.line(JSON.stringify(r, null, 2)), 0;
  if (r.allocations.length === 0) return ctx.out.line("no allocations (no cluster apps, or the leader has not placed them yet)"), 0;
  const now = Date.now();
  ctx.out.line(table(["slot", "node", "generation", "reschedules", "placed", "term"], r.allocations.map((a: Json) => [`${a.app}/${a.slot}`, a.node, a.generation, a.reschedules, formatTime(a.placedAt, now), a.term])));
  return 0;
}

/** A YAML or JSON file as a plain value; problems name the file, line and column. */
function readDocument(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "";
    throw new UsageError(`${file} is not valid YAML or JSON${at}: ${e.message.split("\n")[0]}`);
  }
  const value = doc.toJS() as unknown;
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`${file}: expected a mapping with apps and/or alerts.receivers`);
  return value;
}

const names = (list: unknown) => (Array.isArray(list) ? list.map((x) => String((x as Json)?.name)).join(", ") || "none" : "none");

async function sharedConfig(ctx: CommandContext, file: string | undefined): Promise<number> {
  if (ctx.args.what === "apply") {
    if (file === undefined) throw new UsageError("cluster apply needs the FILE to write (YAML or JSON with apps and/or alerts.receivers)");
    const doc = readDocument(file) as Json;
    const r = await ctx.client().call("PUT", "/v1/cluster/config", doc);
    if (ctx.opts.json) {
      ctx.out.line(JSON.stringify(r, null, 2));
      return 0;
    }
    ctx.out.line(`cluster config from ${file} written at etcd revision ${r.revision} (apps: ${names(doc.apps)}; receivers: ${names(doc.alerts?.receivers)}); every agent applies it, its own file winning by name`);
    return 0;
  }
  if (file !== undefined) throw new UsageError(`cluster ${ctx.args.what} takes no FILE (did you mean polis cluster apply ${file}?)`);
  const s = await ctx.client().call("GET", "/v1/cluster/config");
  if (ctx.opts.json) {
    ctx.out.line(JSON.stringify(s, null, 2));
    return 0;
  }
  if (s.document === null) ctx.out.line("no cluster-wide config in etcd (write one with polis cluster apply FILE)");
  else ctx.out.line(`cluster config at etcd revision ${s.revision}, written by ${s.writtenBy}: apps ${names(s.document.apps)}; receivers ${names(s.document.alerts?.receivers)}`);
  if (s.shadowed?.length) ctx.out.line(`  this agent's own file wins for: ${s.shadowed.join(", ")}`);
  if (s.ignored?.length) ctx.out.line(`  not run here (this agent's file does not set api.allow_api_commands: true): ${s.ignored.join(", ")}`);
  if (s.last && !s.last.applied) ctx.out.line(`  revision ${s.last.revision} was refused here: ${s.last.message}`);
  return 0;
}

export const cluster: CommandDef = {
  name: "cluster",
  summary: "the etcd link (status), cluster apps and where their slots run (apps, allocations), the cluster-wide config (config, apply FILE)",
  details:
    "status (the default): connected, stale catalog, leader, revisions, watch lag, last resync. apps: every cluster app (placement.scope: cluster) with its wanted, placed, pending and unplaceable slots (and why), per node, and the placement leader. allocations: every slot and the node it runs on; --app and --node filter. config: the cluster-wide config sections this agent runs (apps with placement.scope: cluster, alerts.receivers), what its own file shadows, and whether the last change was refused here. apply FILE: validates a YAML or JSON file with those sections against this agent's config and writes it to etcd; every agent then applies it as it applies its own file, and an agent's own file wins where both name the same app or receiver (needs the admin role).",
  args: [
    { name: "what", description: "status, apps, allocations, config or apply", optional: true, choices: ["status", "apps", "allocations", "config", "apply"] },
    { name: "file", description: "apply: the YAML or JSON file with the shared sections", optional: true },
  ],
  options: [
    { name: "app", type: "string", value: "APP", description: "allocations: only this app's slots" },
    { name: "node", type: "string", value: "NODE", description: "allocations: only the slots on this node" },
  ],
  role: "read",
  roleFor: (args) => (args.what === "apply" ? "admin" : "read"),
  examples: ["polis cluster", "polis cluster apps", "polis cluster allocations --node edge-1", "polis cluster allocations --app web --json", "polis cluster config", "polis cluster apply cluster.yaml"],
  async run(ctx) {
    const what = ctx.args.what ?? "status";
    if ((ctx.opts.app !== undefined || ctx.opts.node !== undefined) && what !== "allocations") throw new UsageError("--app and --node filter `polis cluster allocations` only");
    if (what === "config" || what === "apply") return sharedConfig(ctx, ctx.args.file);
    if (ctx.args.file !== undefined) throw new UsageError(`cluster ${what} takes no FILE (did you mean polis cluster apply ${ctx.args.file}?)`);
    if (what === "apps") return clusterApps(ctx);
    if (what === "allocations") return clusterAllocations(ctx);
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
