// Client commands that follow a stream until Ctrl-C: logs (last lines first) and events.
import type { Json } from "../../client/client.ts";
import { type CommandDef, parseCount, UsageError } from "../args.ts";
import { table } from "../table.ts";
import { EVENT_HEADERS, eventRow, logLine } from "../view.ts";

/** Aborts on SIGINT/SIGTERM so a follow ends cleanly (exit 0) instead of dying mid-line. */
function interrupter(): { signal: AbortSignal; done(): void } {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return {
    signal: ac.signal,
    done() {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    },
  };
}

const lineKey = (l: Json) => `${l.id}\u0000${l.stream}\u0000${l.at}\u0000${l.line}`;

export const logs: CommandDef = {
  name: "logs",
  summary: "an app's last log lines, then new ones as they are written",
  details: "Each line shows its local time, the replica (APP-N), | for stdout or ! for stderr, and the text. Follows until Ctrl-C unless --no-follow.",
  args: [{ name: "app", description: "the app's name" }],
  options: [
    { name: "tail", short: "n", type: "string", value: "N", description: "how many recent lines to show first (default: 20)" },
    { name: "replica", short: "r", type: "string", value: "ID", description: "only this replica (its number, e.g. 0)" },
    { name: "stderr", type: "boolean", description: "only stderr lines" },
    { name: "follow", short: "f", type: "boolean", description: "keep printing new lines (the default; --no-follow prints the recent ones and exits)" },
  ],
  role: "read",
  examples: ["polis logs demo", "polis logs demo --replica 1 --stderr --no-follow -n 100"],
  async run(ctx) {
    const app = ctx.args.app!;
    const tail = parseCount(ctx.opts.tail as string | undefined, "--tail", 20, 10_000);
    const replicaText = ctx.opts.replica as string | undefined;
    if (replicaText !== undefined && !/^\d{1,6}$/.test(replicaText)) throw new UsageError(`--replica must be a replica number such as 0; got "${replicaText}"`);
    const replica = replicaText === undefined ? undefined : Number(replicaText);
    const keep = (l: Json) => (replica === undefined || l.id === replica) && (!ctx.opts.stderr || l.stream === "stderr");
    const show = (l: Json) => ctx.out.line(ctx.opts.json ? JSON.stringify(l) : logLine(app, l, Date.now(), ctx.out.style));
    const c = ctx.client();
    // The stderr filter applies after the fetch, so ask for more lines to still show `tail` of them.
    const recent = async () => (await c.logs(app, ctx.opts.stderr ? Math.min(10_000, tail * 10) : tail, replica)).lines.filter(keep).slice(-tail);
    if (ctx.opts.follow === false) {
      for (const l of await recent()) show(l);
      return 0;
    }
    // Subscribe first, then fetch the recent lines: a line written in between arrives on both and is shown once.
    const stop = interrupter();
    const early: Json[] = [];
    let seen: Set<string> | undefined;
    let failure: unknown;
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    const follow = c
      .followLogs(
        app,
        (l) => {
          if (!keep(l)) return;
          if (!seen) early.push(l);
          else if (!seen.has(lineKey(l))) show(l);
        },
        stop.signal,
        opened,
      )
      .catch((e) => {
        failure = e;
      })
      .finally(opened);
    try {
      await open;
      if (failure) throw failure;
      const first = await recent();
      for (const l of first) show(l);
      seen = new Set(first.map(lineKey));
      for (const l of early) if (!seen.has(lineKey(l))) show(l);
      await follow;
      if (failure) throw failure;
      if (!stop.signal.aborted) {
        ctx.out.error(`polis logs: the agent closed the log stream of ${app}`);
        return 1;
      }
      return 0;
    } finally {
      stop.done();
    }
  },
};

const SEVERITIES = ["debug", "info", "warning", "error", "critical"] as const;

export const events: CommandDef = {
  name: "events",
  summary: "recent events, or the live stream with --follow",
  args: [],
  options: [
    { name: "type", type: "string", value: "T", description: "comma-separated types; proc.* matches a prefix" },
    { name: "target", type: "string", value: "X", description: "only events about this target (e.g. demo-0)" },
    { name: "source", type: "string", value: "S", description: "only events from this source (procs, health, balancer, ...)" },
    { name: "severity", type: "string", value: "S", description: "minimum severity", choices: SEVERITIES },
    { name: "since", type: "string", value: "SEQ", description: "only events after this sequence number" },
    { name: "limit", type: "string", value: "N", description: "how many recent events (default: 50)" },
    { name: "follow", short: "f", type: "boolean", description: "keep printing events as they happen, until Ctrl-C" },
  ],
  role: "read",
  examples: ["polis events --type proc.* --severity warning", "polis events -f --target demo-0"],
  async run(ctx) {
    const o = ctx.opts as Record<string, string | undefined>;
    const q = {
      ...(o.type ? { type: o.type } : {}),
      ...(o.target ? { target: o.target } : {}),
      ...(o.source ? { source: o.source } : {}),
      ...(o.severity ? { severity: o.severity as (typeof SEVERITIES)[number] } : {}),
      ...(o.since !== undefined ? { since: parseCount(o.since, "--since", 0, Number.MAX_SAFE_INTEGER) } : {}),
    };
    const c = ctx.client();
    const s = ctx.out.style;
    if (ctx.opts.follow) {
      const stop = interrupter();
      try {
        await c.followEvents(q, (e) => ctx.out.line(ctx.opts.json ? JSON.stringify(e) : eventRow(e as Json, Date.now(), s).map((v) => v ?? "-").join("  ")), stop.signal);
      } finally {
        stop.done();
      }
      return 0;
    }
    const r = await c.events({ ...q, limit: parseCount(o.limit, "--limit", 50, 10_000) });
    if (ctx.opts.json) {
      ctx.out.line(JSON.stringify(r, null, 2));
      return 0;
    }
    const now = Date.now();
    ctx.out.line(table(EVENT_HEADERS, (r.events as unknown as Json[]).map((e) => eventRow(e, now, s))));
    return 0;
  },
};
