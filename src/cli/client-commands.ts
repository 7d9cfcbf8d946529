// Client commands (status, apps, scale, restart, logs, checks, balancers, services, resolve, events, scaling):
// each calls the admin API through the typed client and prints a table, or JSON with --json.
import { ApiClientError, type Json, type PolisClient } from "../client/client.ts";
import { connect } from "./connect.ts";
import { flag } from "./run.ts";
import { bytes, duration, table } from "./table.ts";

type Out = (s: string) => void;

function positional(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith("--")) {
      if (!a.includes("=") && !["--json", "--follow", "-f", "--all"].includes(a)) i++;
      continue;
    }
    if (a === "-f") continue;
    out.push(a);
  }
  return out;
}

const events = (list: Json[]) =>
  table(["seq", "time", "severity", "type", "target", "message"], list.map((e) => [e.seq, new Date(e.ts).toISOString().slice(11, 19), e.severity, e.type, e.target, e.message]));

const commands: Record<string, (c: PolisClient, args: readonly string[], json: boolean, out: Out) => Promise<number>> = {
  async status(c, _args, json, out) {
    const [agent, apps, checks, balancers, recent] = await Promise.all([
      c.agent(),
      c.apps().catch(() => ({ apps: [] })),
      c.checks().catch(() => ({ checks: [] })),
      c.balancers().catch(() => ({ balancers: [] })),
      c.events({ limit: 10 }).catch(() => ({ events: [] })),
    ]);
    if (json) return out(JSON.stringify({ agent, apps: apps.apps, checks: checks.checks, balancers: balancers.balancers, events: recent.events }, null, 2)), 0;
    out(`agent ${agent.name} ${agent.version}  pid ${agent.pid}  up ${duration(agent.uptimeMs)}`);
    out(`\nWorkers\n${table(["name", "state", "restarts", "last error"], agent.workers.map((w: Json) => [w.name, w.state, w.restarts, w.lastError]))}`);
    out(`\nApps\n${table(["app", "desired", "ready", "state"], apps.apps.map((a: Json) => [a.name, a.desired, a.ready, a.crashLoop ? "crash-loop" : "ok"]))}`);
    out(`\nChecks\n${table(["check", "target", "status"], checks.checks.map((k: Json) => [k.id, k.target, k.flapping ? `${k.status} (flapping)` : k.status]))}`);
    out(`\nBalancers\n${table(["balancer", "listen", "protocol", "endpoints", "healthy"], balancers.balancers.map((b: Json) => [b.name, b.listen, b.protocol, b.endpoints?.length ?? 0, b.endpoints?.filter((e: Json) => e.health === "passing").length ?? 0]))}`);
    out(`\nRecent events\n${events(recent.events as Json[])}`);
    return 0;
  },
  async apps(c, _args, json, out) {
    const r = await c.apps();
    if (json) return out(JSON.stringify(r, null, 2)), 0;
    out(table(["app", "replica", "pid", "port", "state", "restarts", "uptime", "cpu%", "rss", "last exit"], r.apps.flatMap((a: Json) =>
      (a.replicas as Json[]).map((x) => [a.name, x.id, x.pid, x.port, x.state, x.restarts, x.startedAt ? duration(Date.now() - x.startedAt) : "-", x.cpuPercent?.toFixed(1), bytes(x.rssBytes), x.lastExit ? `${x.lastExit.reason}` : "-"]))));
    return 0;
  },
  async scale(c, args, json, out) {
    const [app, n] = positional(args);
    if (!app || n === undefined || !/^\d+$/.test(n)) throw new Error("usage: polis scale APP N");
    const r = await c.scale(app, Number(n));
    out(json ? JSON.stringify(r, null, 2) : `${app}: scaling to ${n} replicas`);
    return 0;
  },
  async restart(c, args, json, out) {
    const [app, replica] = positional(args);
    if (!app) throw new Error("usage: polis restart APP [REPLICA]");
    const r = replica ? await c.restartReplica(app, replica) : await c.restart(app);
    out(json ? JSON.stringify(r, null, 2) : replica ? `${app}: replica ${replica} restarting` : `${app}: rolling restart ${(r as Json).status ?? "started"}${(r as Json).reason ? ` (${(r as Json).reason})` : ""}`);
    return 0;
  },
  async logs(c, args, json, out) {
    const [app] = positional(args);
    if (!app) throw new Error("usage: polis logs APP [-f] [--tail N]");
    const tail = Number(flag(args, "--tail") ?? 100);
    const show = (l: Json) => out(json ? JSON.stringify(l) : `${app}-${l.id} ${l.stream === "stderr" ? "!" : "|"} ${l.line}`);
    if (args.includes("-f") || args.includes("--follow")) {
      const ac = new AbortController();
      process.once("SIGINT", () => ac.abort());
      await c.followLogs(app, show, ac.signal);
      return 0;
    }
    for (const l of (await c.logs(app, tail)).lines) show(l);
    return 0;
  },
  async checks(c, _args, json, out) {
    const r = await c.checks();
    if (json) return out(JSON.stringify(r, null, 2)), 0;
    out(table(["check", "kind", "target", "status", "uptime%", "p95 ms", "output"], r.checks.map((k: Json) => [k.id, k.kind, k.target, k.flapping ? `${k.status} (flapping)` : k.status, k.summary?.uptimePercent?.toFixed?.(1), k.summary?.p95LatencyMs?.toFixed?.(1), String(k.output ?? "").slice(0, 40)])));
    return 0;
  },
  async balancers(c, _args, json, out) {
    const r = await c.balancers();
    if (json) return out(JSON.stringify(r, null, 2)), 0;
    for (const b of r.balancers) {
      out(`${b.name}  ${b.protocol}://${b.listen}  ${b.algorithm}`);
      out(table(["endpoint", "address", "health", "weight", "active", "requests", "5xx", "p99 ms", "state"], (b.endpoints as Json[]).map((e) => [e.id, `${e.address}:${e.port}`, e.health, e.weight, e.stats?.active, e.stats?.requests, e.stats?.responses?.["5xx"], e.stats?.p99Ms, e.draining ? "draining" : e.ejected ? "ejected" : "active"])));
      out("");
    }
    return 0;
  },
  async services(c, args, json, out) {
    const r = await c.services({ ...(flag(args, "--namespace") ? { namespace: flag(args, "--namespace")! } : {}), ...(flag(args, "--selector") ? { selector: flag(args, "--selector")! } : {}) });
    if (json) return out(JSON.stringify(r, null, 2)), 0;
    out(table(["namespace", "service", "source", "endpoints", "passing", "labels"], r.services.map((s: Json) => [s.namespace, s.name, s.source, s.endpoints.length, s.endpoints.filter((e: Json) => e.health === "passing").length, Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(",")])));
    return 0;
  },
  async resolve(c, args, json, out) {
    const [name] = positional(args);
    if (!name) throw new Error("usage: polis resolve NAME [--namespace NS] [--selector SEL] [--all]");
    const r = await c.resolve(name, flag(args, "--namespace") ?? "default", { ...(flag(args, "--selector") ? { selector: flag(args, "--selector")! } : {}), all: args.includes("--all") });
    if (json) return out(JSON.stringify(r, null, 2)), 0;
    out(table(["endpoint", "address", "port", "health", "weight"], r.endpoints.map((e) => [e.id, e.address, e.port, e.health, e.weight])));
    return 0;
  },
  async events(c, args, json, out) {
    const q = {
      ...(flag(args, "--type") ? { type: flag(args, "--type")! } : {}),
      ...(flag(args, "--target") ? { target: flag(args, "--target")! } : {}),
      ...(flag(args, "--source") ? { source: flag(args, "--source")! } : {}),
      ...(flag(args, "--severity") ? { severity: flag(args, "--severity") as "info" } : {}),
      ...(flag(args, "--since") ? { since: Number(flag(args, "--since")) } : {}),
    };
    if (args.includes("--follow") || args.includes("-f")) {
      const ac = new AbortController();
      process.once("SIGINT", () => ac.abort());
      await c.followEvents(q, (e) => out(json ? JSON.stringify(e) : `${e.seq ?? "-"} ${e.ts ? new Date(e.ts).toISOString().slice(11, 23) : ""} ${e.severity ?? ""} ${e.type} ${e.target ?? ""} ${e.message}`), ac.signal);
      return 0;
    }
    const r = await c.events({ ...q, limit: Number(flag(args, "--limit") ?? 50) });
    out(json ? JSON.stringify(r, null, 2) : events(r.events as unknown as Json[]));
    return 0;
  },
  async scaling(c, args, json, out) {
    const [app] = positional(args);
    if (app) {
      const r = await c.scalingHistory(app, Number(flag(args, "--limit") ?? 20));
      if (json) return out(JSON.stringify(r, null, 2)), 0;
      out(table(["time", "current", "desired", "action", "reason"], ((r as Json).decisions as Json[]).map((d) => [new Date(d.at).toISOString().slice(11, 19), d.current, d.desired, d.action, d.reason])));
      return 0;
    }
    const r = await c.scaling();
    if (json) return out(JSON.stringify(r, null, 2)), 0;
    out(table(["app", "min", "max", "current", "desired", "last action", "reason"], r.apps.map((a: Json) => [a.app, a.min, a.max, a.current, a.last?.desired, a.last?.action, a.last?.reason])));
    return 0;
  },
};

export const CLIENT_COMMANDS = Object.keys(commands);

export async function runClientCommand(cmd: string, args: readonly string[], out: Out = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  const c = connect(args);
  try {
    return await commands[cmd]!(c, args, args.includes("--json"), out);
  } catch (e) {
    if (e instanceof ApiClientError) {
      process.stderr.write(`polis ${cmd}: ${e.message}${e.status ? ` (HTTP ${e.status}, ${e.code})` : ""}\n`);
      return 1;
    }
    process.stderr.write(`polis ${cmd}: ${(e as Error).message}\n`);
    return 2;
  }
}
