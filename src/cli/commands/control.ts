// Client commands that change what runs: scale, restart (with progress per replica), drain.
import type { Json, PolisClient } from "../../client/client.ts";
import { type CommandContext, type CommandDef, parseDuration, UsageError } from "../args.ts";
import { formatTime } from "../output.ts";
import { duration } from "../table.ts";
import { autoscalingText } from "../view.ts";

export const scale: CommandDef = {
  name: "scale",
  summary: "set an app's replica count, or hand it back to the autoscaler",
  details:
    "On an autoscaled app a manual count pauses autoscaling for a while (the agent's default is 10m; --for sets it), after which the autoscaler takes over again; `polis scale APP auto` hands control back at once. The command prints what the agent will do.",
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
    const hold = ctx.opts.for as string | undefined;
    if (hold !== undefined) {
      if (to === "auto") throw new UsageError("--for applies to a replica count, not to auto");
      if (parseDuration(hold, "--for") <= 0) throw new UsageError(`--for must be longer than 0; got "${hold}"`);
    }
    const r = await ctx.client().scale(app, to === "auto" ? "auto" : Number(to), hold);
    if (ctx.opts.json) return ctx.out.line(JSON.stringify(r, null, 2)), 0;
    const now = Date.now();
    const mode = (r.autoscaling as Json | undefined)?.mode;
    if (to === "auto") {
      ctx.out.line(`${app}: autoscaling is back in control${typeof r.replicas === "number" ? ` (now ${r.replicas} replicas)` : ""}; it sets the replica count from now on`);
      return 0;
    }
    const what = `${app}: scaling to ${to} replica${to === "1" ? "" : "s"}`;
    if (mode === "paused") {
      const until = (r.autoscaling as Json).paused_until;
      ctx.out.line(`${what}; autoscaling is paused${typeof until === "number" ? ` until ${formatTime(until, now)} (${duration(until - now)})` : ""}, then it takes over again`);
      ctx.out.line(`  to hand control back now: polis scale ${app} auto`);
    } else if (mode === "manual") ctx.out.line(`${what} (${app} has no autoscaling: the count stays until changed)`);
    else ctx.out.line(`${what}${autoscalingText(r.autoscaling as Json | undefined, now) ? ` (autoscaling: ${autoscalingText(r.autoscaling as Json, now)})` : ""}`);
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
