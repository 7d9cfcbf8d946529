// Client commands that change what runs: scale, restart (with progress per replica), drain.
import type { Json, PolisClient } from "../../client/client.ts";
import { type CommandContext, type CommandDef, parseDuration, UsageError } from "../args.ts";
import { formatTime } from "../output.ts";
import { duration } from "../table.ts";
import { timeOf } from "../view.ts";

/** The agent takes whole numbers of one unit: 1.5h is sent as 90m. */
function durationText(ms: number): string {
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

export const scale: CommandDef = {
  name: "scale",
  summary: "set an app's replica count, or hand it back to the autoscaler",
  details:
    "On an autoscaled app a manual count pauses autoscaling for a while (the config's scaling.manual_pause, 10m by default; --for sets it), after which the autoscaler takes over again; `polis scale APP auto` hands control back at once. The pause is shown by status and describe. The command prints what the agent will do.",
  args: [
    { name: "app", description: "the app's name" },
    { name: "replicas", description: "a replica count, or auto" },
  ],
  options: [{ name: "for", type: "string", value: "DURATION", description: "how long a manual count holds off the autoscaler, e.g. 30m or 2h" }],
  role: "operator",
  examples: ["polis scale demo 3", "polis scale demo 4 --for 30m", "polis scale demo auto"],
  async run(ctx) {
    const app = ctx.args.app!;
    const to = ctx.args.replicas!;
    if (to !== "auto" && !/^\d{1,6}$/.test(to)) throw new UsageError(`REPLICAS must be a whole number or auto; got "${to}"`);
    const holdText = ctx.opts.for as string | undefined;
    let hold: string | undefined;
    if (holdText !== undefined) {
      if (to === "auto") throw new UsageError("--for applies to a replica count, not to auto");
      const ms = parseDuration(holdText, "--for");
      if (ms <= 0) throw new UsageError(`--for must be longer than 0; got "${holdText}"`);
      hold = durationText(ms);
    }
    const r = await ctx.client().scale(app, to === "auto" ? "auto" : Number(to), hold);
    if (ctx.opts.json) return ctx.out.line(JSON.stringify(r, null, 2)), 0;
    const now = Date.now();
    const auto = r.autoscaling as Json | undefined;
    const count = `${r.replicas} replica${r.replicas === 1 ? "" : "s"}`;
    if (to === "auto") {
      ctx.out.line(`${app}: autoscaling is back in control (now ${count}); it sets the replica count from here on`);
      return 0;
    }
    if (auto?.mode === "paused") {
      const until = timeOf(auto.paused_until);
      ctx.out.line(`${app}: scaling to ${count}; autoscaling is paused${until !== null ? ` until ${formatTime(until, now)} (${duration(until - now)})` : ""}, then it takes over again`);
      ctx.out.line(`  to hand control back now: polis scale ${app} auto`);
    } else ctx.out.line(`${app}: scaling to ${count}${auto?.mode === "manual" ? " (it has no autoscaling: the count stays until changed)" : ""}`);
    return 0;
  },
};

export const stop: CommandDef = {
  name: "stop",
  summary: "stop every replica of an app (scale to zero), until polis start",
  details: "No config edit: the agent remembers it, also across its own restarts, and takes the app out of autoscaling until `polis start APP`.",
  args: [{ name: "app", description: "the app's name" }],
  role: "operator",
  examples: ["polis stop demo"],
  async run(ctx) {
    const app = ctx.args.app!;
    const r = await ctx.client().stop(app);
    if (ctx.opts.json) return ctx.out.line(JSON.stringify(r, null, 2)), 0;
    ctx.out.line(`${app}: stopping every replica; it stays stopped (also across agent restarts) until: polis start ${app}`);
    return 0;
  },
};

export const start: CommandDef = {
  name: "start",
  summary: "start a stopped app again, with the replica count it had",
  args: [{ name: "app", description: "the app's name" }],
  role: "operator",
  examples: ["polis start demo"],
  async run(ctx) {
    const app = ctx.args.app!;
    const r = await ctx.client().start(app);
    if (ctx.opts.json) return ctx.out.line(JSON.stringify(r, null, 2)), 0;
    const mode = (r.autoscaling as Json | undefined)?.mode;
    ctx.out.line(`${app}: starting ${r.replicas} replica${r.replicas === 1 ? "" : "s"}${mode === "auto" ? "; autoscaling is back in control" : ""}`);
    return 0;
  },
};

export const maint: CommandDef = {
  name: "maint",
  summary: "put an app in maintenance mode (its endpoints leave every balancer), or take it out",
  details: "As Consul's maintenance mode: the replicas keep running, but no balancer sends them traffic until maintenance is turned off. Remembered across agent restarts; shown by status and describe.",
  args: [{ name: "app", description: "the app's name" }],
  options: [
    { name: "reason", type: "string", value: "TEXT", description: "why (shown by status and describe)" },
    { name: "off", type: "boolean", description: "end maintenance" },
  ],
  role: "operator",
  examples: ['polis maint demo --reason "disk swap"', "polis maint demo --off"],
  async run(ctx) {
    const app = ctx.args.app!;
    const off = ctx.opts.off === true;
    const reason = ctx.opts.reason as string | undefined;
    if (off && reason !== undefined) throw new UsageError("--reason goes with turning maintenance on, not with --off");
    const r = await ctx.client().maintenance(app, !off, reason);
    if (ctx.opts.json) return ctx.out.line(JSON.stringify(r, null, 2)), 0;
    ctx.out.line(r.maintenance ? `${app}: in maintenance${r.reason ? ` (${r.reason})` : ""}; its endpoints get no traffic until: polis maint ${app} --off` : `${app}: maintenance off; its endpoints take traffic again as their checks pass`);
    return 0;
  },
};

export const reload: CommandDef = {
  name: "reload",
  summary: "make the agent re-read its config file (as SIGHUP does)",
  details: "Prints the sections that changed, or every problem of the file (with its path, field and value) and exits 1; a rejected file changes nothing.",
  role: "admin",
  examples: ["polis reload"],
  async run(ctx) {
    const r = await ctx.client().reload();
    if (ctx.opts.json) return ctx.out.line(JSON.stringify(r, null, 2)), 0;
    ctx.out.line(r.reloaded.length > 0 ? `config reloaded; changed: ${r.reloaded.join(", ")}` : "config reloaded; nothing changed");
    return 0;
  },
};

/** Shows a rolling restart as it goes: one line per step, or one live line on a terminal. */
function progress(ctx: CommandContext, app: string, olds: readonly number[]) {
  const s = ctx.out.style;
  const stopped = new Set<number>();
  let live = false;
  const step = () => `[${Math.min(stopped.size + 1, Math.max(1, olds.length))}/${Math.max(1, olds.length)}]`;
  const say = (text: string, permanent: boolean) => {
    if (!ctx.out.tty) return ctx.out.line(`${step()} ${text}`);
    ctx.out.write(`\r\x1b[2K${step()} ${text}`);
    live = true;
    if (permanent) {
      ctx.out.write("\n");
      live = false;
    }
  };
  return {
    sawEnd: false,
    onEvent(e: Json) {
      const d = (e.data ?? {}) as Json;
      if (d.app !== app) return;
      const who = `${app}-${d.id}`;
      switch (e.type) {
        case "proc.starting":
          if (!olds.includes(d.id)) say(`${who} starting`, false);
          break;
        case "proc.ready":
          if (!olds.includes(d.id)) say(`${who} ${s.green("ready")} after ${Math.round(d.afterMs ?? 0)} ms (pid ${d.pid})`, false);
          break;
        case "proc.stopping":
          if (olds.includes(d.id)) say(`${who} stopping (drained)`, false);
          break;
        case "proc.stopped":
          if (olds.includes(d.id) && !stopped.has(d.id)) {
            say(`${who} replaced`, true);
            stopped.add(d.id);
          }
          break;
        case "proc.rolling-restart":
          this.sawEnd = true;
          break;
      }
    },
    end() {
      if (live) ctx.out.write("\r\x1b[2K");
    },
  };
}

async function rollingRestart(ctx: CommandContext, c: PolisClient, app: string): Promise<number> {
  const before = await c.app(app);
  const olds = ((before.replicas as Json[]) ?? []).map((r) => Number(r.id));
  // Follow from the current sequence number so no step is missed, however the stream and the request interleave.
  const since = await c.events({ limit: 1 }).then((r) => r.lastSeq).catch(() => undefined);
  const view = progress(ctx, app, olds);
  const ac = new AbortController();
  let following: Promise<void> = Promise.resolve();
  if (since !== undefined && !ctx.opts.json) {
    following = c.followEvents({ type: "proc.*", source: "procs", since }, (e) => view.onEvent(e as Json), ac.signal).catch(() => {});
  }
  let r: Json;
  try {
    r = await c.restart(app);
    // The last steps may still be on their way: wait (briefly) for the roll's closing event before stopping the stream.
    const deadline = Date.now() + 3000;
    while (!view.sawEnd && since !== undefined && !ctx.opts.json && Date.now() < deadline) await Bun.sleep(20);
  } finally {
    ac.abort();
    await following;
    view.end();
  }
  if (ctx.opts.json) return ctx.out.line(JSON.stringify(r, null, 2)), r.status === "done" ? 0 : 1;
  if (r.status === "done") {
    ctx.out.line(`${app}: rolling restart done, ${r.replaced} of ${olds.length} replica${olds.length === 1 ? "" : "s"} replaced`);
    return 0;
  }
  ctx.out.error(`polis restart: ${app}: rolling restart aborted after ${r.replaced} of ${olds.length} replaced: ${r.reason ?? "no reason given"}`);
  return 1;
}

export const restart: CommandDef = {
  name: "restart",
  summary: "rolling restart of an app (with progress), or restart one replica",
  details:
    "A rolling restart starts a new replica, waits until it is ready, drains the old one from the balancers and stops it, one replica at a time. Each step is printed as it happens (one live line on a terminal). Exit 1 if the roll was aborted (a new replica did not become ready); the old replicas are then still serving.",
  args: [
    { name: "app", description: "the app's name" },
    { name: "replica", description: "restart only this replica (its number), in place", optional: true },
  ],
  role: "operator",
  examples: ["polis restart demo", "polis restart demo 1"],
  async run(ctx) {
    const c = ctx.client();
    const app = ctx.args.app!;
    const replica = ctx.args.replica;
    if (replica === undefined) return rollingRestart(ctx, c, app);
    if (!/^\d{1,6}$/.test(replica)) throw new UsageError(`REPLICA must be a replica number such as 0; got "${replica}"`);
    const r = await c.restartReplica(app, replica);
    ctx.out.line(ctx.opts.json ? JSON.stringify(r, null, 2) : `${app}-${replica}: restarting`);
    return 0;
  },
};

export const drain: CommandDef = {
  name: "drain",
  summary: "stop new traffic to an endpoint and wait for its in-flight requests",
  details: "Drains the endpoint in every balancer that has it (or only --balancer), waiting up to each balancer's drain_timeout. Endpoint ids are listed by `polis balancers` (an app's replicas are APP-N).",
  args: [{ name: "endpoint", description: "the endpoint's id, e.g. demo-0" }],
  options: [{ name: "balancer", short: "b", type: "string", value: "NAME", description: "only in this balancer" }],
  role: "operator",
  examples: ["polis drain demo-0", "polis drain db-1 --balancer db"],
  async run(ctx) {
    const c = ctx.client();
    const id = ctx.args.endpoint!;
    const only = ctx.opts.balancer as string | undefined;
    const all = (await c.balancers()).balancers;
    if (only && !all.some((b) => b.name === only)) {
      ctx.out.error(`polis drain: no balancer named ${only} (balancers: ${all.map((b) => b.name).join(", ") || "none"})`);
      return 1;
    }
    const targets = all.filter((b) => (!only || b.name === only) && ((b.endpoints as Json[]) ?? []).some((e) => e.id === id));
    if (targets.length === 0) {
      const known = all.flatMap((b) => ((b.endpoints as Json[]) ?? []).map((e) => String(e.id)));
      ctx.out.error(`polis drain: ${only ? `balancer ${only} has no endpoint` : "no balancer has an endpoint"} ${id}${known.length ? ` (endpoints: ${[...new Set(known)].join(", ")})` : ""}`);
      return 1;
    }
    const results = await Promise.all(targets.map((b) => c.drain(String(b.name), id)));
    if (ctx.opts.json) return ctx.out.line(JSON.stringify(results, null, 2)), 0;
    for (const r of results) ctx.out.line(r.drained ? `${r.balancer}: ${id} drained (no requests in flight)` : `${r.balancer}: ${id} draining; ${r.inFlight} request${r.inFlight === 1 ? "" : "s"} still in flight after the drain timeout`);
    return 0;
  },
};
