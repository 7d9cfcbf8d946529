// Read-only client commands: status, apps, describe, checks, balancers, services, resolve, events, scaling.
import type { Json } from "../../client/client.ts";
import { type CommandContext, type CommandDef, parseCount } from "../args.ts";
import { formatTime } from "../output.ts";
import { bytes, duration, table } from "../table.ts";
import { appState, autoscalingOf, autoscalingText, EVENT_HEADERS, eventRow, isAppEndpoint, timeOf, uptime } from "../view.ts";

const json = (ctx: CommandContext, v: unknown) => {
  ctx.out.line(JSON.stringify(v, null, 2));
  return 0;
};

const replicaRows = (ctx: CommandContext, a: Json, now: number) =>
  ((a.replicas as Json[]) ?? []).map((x) => [
    x.id,
    x.pid,
    x.port,
    ctx.out.style.state(String(x.state)),
    x.revision ? x.revision : "-",
    x.restarts,
    uptime(x, now),
    x.adopted ? "yes" : "-",
    typeof x.cpuPercent === "number" ? x.cpuPercent.toFixed(1) : "-",
    bytes(x.rssBytes),
    x.lastExit ? `${x.lastExit.reason} ${formatTime(x.lastExit.at, now)}` : "-",
  ]);
const REPLICA_HEADERS = ["replica", "pid", "port", "state", "rev", "restarts", "uptime", "adopted", "cpu%", "rss", "last exit"];

export const status: CommandDef = {
  name: "status",
  summary: "workers, apps, checks, balancers and recent events",
  details: "An app's state is ok, degraded (fewer ready than desired), backoff (a replica waits to restart), crash-loop, stopped or maintenance.",
  role: "read",
  async run(ctx) {
    const c = ctx.client();
    const [agent, apps, checks, balancers, recent] = await Promise.all([
      c.agent(),
      c.apps().catch(() => ({ apps: [] as Json[] })),
      c.checks().catch(() => ({ checks: [] as Json[] })),
      c.balancers().catch(() => ({ balancers: [] as Json[] })),
      c.events({ limit: 10 }).catch(() => ({ events: [] })),
    ]);
    if (ctx.opts.json) return json(ctx, { agent, apps: apps.apps, checks: checks.checks, balancers: balancers.balancers, events: recent.events });
    const now = Date.now();
    const s = ctx.out.style;
    const out = ctx.out.line;
    out(`agent ${s.bold(String(agent.name))} ${agent.version}  pid ${agent.pid}  up ${duration(agent.uptimeMs)}`);
    out(`\nWorkers\n${table(["name", "state", "restarts", "last error"], (agent.workers as Json[]).map((w) => [w.name, s.state(String(w.state)), w.restarts, w.lastError]))}`);
    out(`\nApps\n${table(["app", "state", "ready", "desired", "autoscaling"], apps.apps.map((a) => [a.name, s.state(appState(a)), a.ready, a.desired, autoscalingText(autoscalingOf(a), now) ?? "-"]))}`);
    out(`\nChecks\n${table(["check", "target", "status"], checks.checks.map((k) => [k.id, k.target, s.state(k.flapping ? `${k.status} (flapping)` : String(k.status))]))}`);
    out(`\nBalancers\n${table(["balancer", "listen", "protocol", "endpoints", "healthy", "state"], balancers.balancers.map((b) => [b.name, b.listen, b.protocol, b.endpoints?.length ?? 0, b.endpoints?.filter((e: Json) => e.health === "passing").length ?? 0, b.listening === false ? `not listening: ${b.problem ?? "bind failed"}` : "listening"]))}`);
    out(`\nRecent events\n${table(EVENT_HEADERS, (recent.events as Json[]).map((e) => eventRow(e, now, s)))}`);
    return 0;
  },
};

export const apps: CommandDef = {
  name: "apps",
  summary: "every replica with pid, port, state, restarts, uptime, cpu and memory",
  details: "Uptime counts from the process's start, also for replicas adopted from an earlier agent run.",
  role: "read",
  async run(ctx) {
    const r = await ctx.client().apps();
    if (ctx.opts.json) return json(ctx, r);
    const now = Date.now();
    ctx.out.line(table(["app", ...REPLICA_HEADERS], r.apps.flatMap((a) => replicaRows(ctx, a, now).map((row) => [a.name, ...row]))));
    return 0;
  },
};

export const describe: CommandDef = {
  name: "describe",
  summary: "one app in full: spec, state, replicas, checks, endpoints, scaling, last events",
  args: [{ name: "app", description: "the app's name" }],
  role: "read",
  examples: ["polis describe demo"],
  async run(ctx) {
    const c = ctx.client();
    const name = ctx.args.app!;
    const a = await c.app(name);
    const [config, checks, balancers, scaling, history, recent] = await Promise.all([
      c.config().catch(() => undefined),
      c.checks().catch(() => ({ checks: [] as Json[] })),
      c.balancers().catch(() => ({ balancers: [] as Json[] })),
      c.scaling().catch(() => ({ apps: [] as Json[] })),
      c.scalingHistory(name, 5).catch(() => undefined),
      c.events({ limit: 500 }).catch(() => ({ events: [] })),
    ]);
    // GET /v1/config answers {source, config}; the spec is the app's entry there, defaults applied.
    const running = (config as Json | undefined)?.config ?? config;
    const specs = ((running as Json | undefined)?.apps as Json[] | undefined) ?? [];
    const spec = specs.find((x) => x.name === name);
    // Settings of this app that come from PATCH /v1/config (kept in the overlay), e.g. "apps[0].replicas".
    const at = `apps[${specs.indexOf(spec as Json)}]`;
    const fromOverlay = ((((config as Json | undefined)?.overlay?.paths as string[] | undefined) ?? []).filter((p) => spec && (p === at || p.startsWith(`${at}.`)))).map((p) => p.slice(at.length + 1) || "(all)");
    const own = (t: unknown) => typeof t === "string" && (t === name || isAppEndpoint(name, t));
    const appChecks = checks.checks.filter((k) => String(k.id).startsWith(`${name}:`));
    const endpoints = balancers.balancers.flatMap((b) => ((b.endpoints as Json[]) ?? []).filter((e) => isAppEndpoint(name, String(e.id))).map((e): Json => ({ balancer: b.name, ...e })));
    const scale = scaling.apps.find((x) => x.app === name);
    const events = (recent.events as Json[]).filter((e) => own(e.target)).slice(-10);
    if (ctx.opts.json) return json(ctx, { app: a, spec: spec ?? null, checks: appChecks, endpoints, scaling: scale ?? null, decisions: (history as Json | undefined)?.decisions ?? [], events });
    const now = Date.now();
    const s = ctx.out.style;
    const out = ctx.out.line;
    out(`${s.bold(name)}  ${s.state(appState(a))}  ${a.ready}/${a.desired} ready  (min ${a.min}, max ${a.max})`);
    if (a.revision !== undefined) {
      const rev = a.revision as Json;
      out(`revision   ${rev.current}${rev.target !== rev.current ? ` (new replicas get ${rev.target}: polis rollout status ${name})` : ""}`);
    }
    const auto = autoscalingText(autoscalingOf(a), now);
    if (auto) out(`autoscaling ${s.state(auto)}`);
    const intent = (a.intent ?? {}) as Json;
    if (typeof intent.replicas === "number") out(`replicas   ${intent.replicas} (set by an operator)`);
    if (intent.stopped) out(`stopped    since ${formatTime(timeOf(intent.stopped.since), now)} (had ${intent.stopped.previous}; polis start ${name} brings them back)`);
    if (intent.maintenance) out(`maintenance since ${formatTime(timeOf(intent.maintenance.since), now)}${intent.maintenance.reason ? `: ${intent.maintenance.reason}` : ""} (polis maint ${name} --off ends it)`);
    if (spec) {
      out(`command    ${[spec.command, ...((spec.args as string[]) ?? [])].join(" ")}`);
      if (spec.port) out(`port       ${JSON.stringify(spec.port)}`);
      if (spec.readiness) out(`readiness  ${spec.readiness.kind}${spec.readiness.timeout ? ` (timeout ${duration(spec.readiness.timeout)})` : ""}`);
      if (spec.restart) out(`restart    ${spec.restart.policy}`);
      if (fromOverlay.length > 0) out(`overlay    ${fromOverlay.join(", ")} (set through the API: PATCH /v1/config)`);
    }
    out(`\nReplicas\n${table(REPLICA_HEADERS, replicaRows(ctx, a, now))}`);
    out(`\nChecks\n${table(["check", "kind", "status", "output"], appChecks.map((k) => [k.id, k.kind, s.state(k.flapping ? `${k.status} (flapping)` : String(k.status)), String(k.output ?? "").slice(0, 60)]))}`);
    out(`\nBalancer endpoints\n${table(["balancer", "endpoint", "address", "health", "weight", "state"], endpoints.map((e) => [e.balancer, e.id, `${e.address}:${e.port}`, s.state(String(e.health)), e.weight, s.state(e.draining ? "draining" : e.ejected ? "ejected" : "active")]))}`);
    if (scale) {
      out(`\nScaling  current ${scale.current}  min ${scale.min}  max ${scale.max}${scale.last ? `  last: ${scale.last.action} to ${scale.last.desired} (${scale.last.reason})` : ""}`);
      const decisions = ((history as Json | undefined)?.decisions as Json[] | undefined) ?? [];
      if (decisions.length > 0) out(table(["time", "current", "desired", "action", "reason"], decisions.map((d) => [formatTime(d.at, now), d.current, d.desired, d.action, d.reason])));
    }
    out(`\nLast events\n${table(EVENT_HEADERS, events.map((e) => eventRow(e, now, s)))}`);
    return 0;
  },
};

export const checks: CommandDef = {
  name: "checks",
  summary: "health checks and their state",
  role: "read",
  async run(ctx) {
    const r = await ctx.client().checks();
    if (ctx.opts.json) return json(ctx, r);
    const s = ctx.out.style;
    ctx.out.line(table(["check", "kind", "target", "status", "uptime%", "p95 ms", "output"], r.checks.map((k) => [k.id, k.kind, k.target, s.state(k.flapping ? `${k.status} (flapping)` : String(k.status)), k.summary?.uptimePercent?.toFixed?.(1), k.summary?.p95LatencyMs?.toFixed?.(1), String(k.output ?? "").slice(0, 40)])));
    return 0;
  },
};

export const balancers: CommandDef = {
  name: "balancers",
  summary: "balancers and their endpoints with health, weight and traffic",
  role: "read",
  async run(ctx) {
    const r = await ctx.client().balancers();
    if (ctx.opts.json) return json(ctx, r);
    const s = ctx.out.style;
    for (const b of r.balancers) {
      ctx.out.line(`${s.bold(String(b.name))}  ${b.protocol}://${b.listen}  ${b.algorithm}${b.panic ? `  ${s.red("panic")}` : ""}${b.failedOver ? `  ${s.yellow("failed over")}` : b.onBackup ? `  ${s.yellow("on backup")}` : ""}`);
      ctx.out.line(
        table(
          ["endpoint", "address", "health", "weight", "active", "requests", "5xx", "p99 ms", "state"],
          (b.endpoints as Json[]).map((e) => [e.id, `${e.address}:${e.port}`, s.state(String(e.health)), e.weight, e.stats?.active, e.stats?.totals?.requests, e.stats?.totals?.responses?.["5xx"], e.stats?.latency?.p99Ms?.toFixed?.(1), s.state(e.draining ? "draining" : e.ejected ? "ejected" : "active")]),
        ),
      );
      ctx.out.line("");
    }
    return 0;
  },
};

export const services: CommandDef = {
  name: "services",
  summary: "the service catalog: apps, static services and registrations",
  role: "read",
  options: [
    { name: "namespace", type: "string", value: "NS", description: "only this namespace" },
    { name: "selector", type: "string", value: "SEL", description: "label selector, e.g. tier=web,env!=dev" },
  ],
  async run(ctx) {
    const ns = ctx.opts.namespace as string | undefined;
    const sel = ctx.opts.selector as string | undefined;
    const r = await ctx.client().services({ ...(ns ? { namespace: ns } : {}), ...(sel ? { selector: sel } : {}) });
    if (ctx.opts.json) return json(ctx, r);
    ctx.out.line(table(["namespace", "service", "source", "endpoints", "passing", "labels"], r.services.map((x) => [x.namespace, x.name, x.source, x.endpoints.length, x.endpoints.filter((e: Json) => e.health === "passing").length, Object.entries(x.labels).map(([k, v]) => `${k}=${v}`).join(",")])));
    return 0;
  },
};

export const resolve: CommandDef = {
  name: "resolve",
  summary: "a service's endpoints (passing only, unless --all)",
  args: [{ name: "name", description: "the service's name" }],
  options: [
    { name: "namespace", type: "string", value: "NS", description: "the service's namespace (default: default)" },
    { name: "selector", type: "string", value: "SEL", description: "label selector on endpoints" },
    { name: "all", type: "boolean", description: "include endpoints that are not passing" },
  ],
  role: "read",
  async run(ctx) {
    const sel = ctx.opts.selector as string | undefined;
    const r = await ctx.client().resolve(ctx.args.name!, (ctx.opts.namespace as string | undefined) ?? "default", { ...(sel ? { selector: sel } : {}), all: ctx.opts.all === true });
    if (ctx.opts.json) return json(ctx, r);
    // With a cluster, other nodes' endpoints name their node (and zone); this node's own show "-".
    const clustered = r.endpoints.some((e) => e.node !== undefined);
    const rows = r.endpoints.map((e) => [e.id, e.address, e.port, ctx.out.style.state(String(e.health)), e.weight, ...(clustered ? [e.node ? `${e.node}${e.zone ? ` (${e.zone})` : ""}` : "-"] : [])]);
    ctx.out.line(table(["endpoint", "address", "port", "health", "weight", ...(clustered ? ["node"] : [])], rows));
    return 0;
  },
};

export const scaling: CommandDef = {
  name: "scaling",
  summary: "autoscaling state of every app, or one app's decision history",
  args: [{ name: "app", description: "show this app's decisions", optional: true }],
  options: [{ name: "limit", type: "string", value: "N", description: "how many decisions (default: 20)" }],
  role: "read",
  async run(ctx) {
    const c = ctx.client();
    const now = Date.now();
    if (ctx.args.app) {
      const r = await c.scalingHistory(ctx.args.app, parseCount(ctx.opts.limit as string | undefined, "--limit", 20, 10_000));
      if (ctx.opts.json) return json(ctx, r);
      ctx.out.line(table(["time", "current", "desired", "action", "reason"], ((r as Json).decisions as Json[]).map((d) => [formatTime(d.at, now), d.current, d.desired, d.action, d.reason])));
      return 0;
    }
    const r = await c.scaling();
    if (ctx.opts.json) return json(ctx, r);
    ctx.out.line(table(["app", "min", "max", "current", "desired", "last action", "reason"], r.apps.map((a) => [a.app, a.min, a.max, a.current, a.last?.desired, a.last?.action, a.last?.reason])));
    return 0;
  },
};
