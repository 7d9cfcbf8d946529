// `polis top`: a live view of every replica (CPU, memory, requests per second, latency), redrawn in place on a
// terminal; elsewhere it prints --count frames (default 1) so a pipe or a script gets a bounded output.
import type { Json, PolisClient } from "../../client/client.ts";
import { type CommandDef, parseCount, parseDuration, UsageError } from "../args.ts";
import { formatTime, type Output } from "../output.ts";
import { bytes, table } from "../table.ts";
import { appState, uptime } from "../view.ts";

/** Each frame costs the agent two snapshot requests; faster than this is noise to read and load to serve. */
const MIN_INTERVAL_MS = 500;

interface Traffic {
  rps: number;
  p99: number | undefined;
  active: number;
}

/** Per replica endpoint: requests per second (over the API's rate window) summed over balancers, the worst p99, connections in flight. */
function trafficByEndpoint(balancers: readonly Json[]): Map<string, Traffic> {
  const out = new Map<string, Traffic>();
  for (const b of balancers) {
    for (const e of (b.endpoints as Json[]) ?? []) {
      const t = out.get(e.id) ?? { rps: 0, p99: undefined, active: 0 };
      t.rps += Number(e.stats?.ratesPerSecond?.requests ?? 0);
      t.active += Number(e.stats?.active ?? 0);
      const p99 = e.stats?.latency?.count > 0 ? Number(e.stats.latency.p99Ms) : undefined;
      if (p99 !== undefined && (t.p99 === undefined || p99 > t.p99)) t.p99 = p99;
      out.set(e.id, t);
    }
  }
  return out;
}

export function renderTop(agent: Json, apps: readonly Json[], balancers: readonly Json[], out: Output, now: number, only?: string): string {
  const s = out.style;
  const traffic = trafficByEndpoint(balancers);
  const rows: unknown[][] = [];
  let cpu = 0;
  let rss = 0;
  let rps = 0;
  for (const a of apps) {
    if (only && a.name !== only) continue;
    rps += traffic.get(`${a.name}-shared`)?.rps ?? 0;
    for (const r of (a.replicas as Json[]) ?? []) {
      // Replicas sharing one port are one endpoint: its traffic shows on each of them and counts once in the total.
      const own = traffic.get(`${a.name}-${r.id}`);
      const t = own ?? traffic.get(`${a.name}-shared`);
      cpu += Number(r.cpuPercent ?? 0);
      rss += Number(r.rssBytes ?? 0);
      if (own) rps += own.rps;
      rows.push([
        `${a.name}-${r.id}`,
        r.pid,
        s.state(String(r.state)),
        typeof r.cpuPercent === "number" ? r.cpuPercent.toFixed(1) : "-",
        bytes(r.rssBytes),
        t ? t.rps : "-",
        t?.p99 !== undefined ? t.p99.toFixed(1) : "-",
        t ? t.active : "-",
        r.restarts,
        uptime(r, now),
      ]);
    }
  }
  const appLine = apps
    .filter((a) => !only || a.name === only)
    .map((a) => `${a.name} ${s.state(appState(a))} ${a.ready}/${a.desired}`)
    .join("   ");
  return [
    `${s.bold(`polis top`)}  agent ${agent.name} ${agent.version}  ${formatTime(now, now)}   replicas ${rows.length}  cpu ${cpu.toFixed(1)}%  rss ${bytes(rss)}  ${rps} req/s`,
    appLine,
    "",
    table(["replica", "pid", "state", "cpu%", "rss", "req/s", "p99 ms", "active", "restarts", "uptime"], rows),
  ].join("\n");
}

async function frame(c: PolisClient, out: Output, only: string | undefined): Promise<string> {
  const [agent, apps, balancers] = await Promise.all([c.agent(), c.apps(), c.balancers().catch(() => ({ balancers: [] as Json[] }))]);
  if (only && !apps.apps.some((a) => a.name === only)) throw new UsageError(`no app named ${only} (apps: ${apps.apps.map((a) => a.name).join(", ") || "none"})`);
  return renderTop(agent, apps.apps, balancers.balancers, out, Date.now(), only);
}

export const top: CommandDef = {
  name: "top",
  summary: "a live view of every replica: CPU, memory, requests per second, latency",
  details: `Redraws every --interval on a terminal until Ctrl-C or q (or --count frames). When stdout is not a terminal it prints --count frames, one after the other (default 1). Requests per second and p99 latency are the balancers' last second. The interval is at least ${MIN_INTERVAL_MS} ms.`,
  options: [
    { name: "interval", short: "i", type: "string", value: "DURATION", description: "time between frames (default: 2s)" },
    { name: "count", short: "n", type: "string", value: "N", description: "stop after N frames (default: until Ctrl-C on a terminal, else 1)" },
    { name: "app", type: "string", value: "APP", description: "only this app's replicas" },
  ],
  role: "read",
  examples: ["polis top", "polis top --app demo --interval 1s", "polis top --count 3 > top.txt"],
  async run(ctx) {
    const intervalText = (ctx.opts.interval as string | undefined) ?? "2s";
    const interval = parseDuration(intervalText, "--interval");
    if (interval < MIN_INTERVAL_MS) throw new UsageError(`--interval must be at least ${MIN_INTERVAL_MS}ms; got "${intervalText}"`);
    const count = parseCount(ctx.opts.count as string | undefined, "--count", ctx.out.tty ? 0 : 1);
    const only = ctx.opts.app as string | undefined;
    const c = ctx.client();
    const out = ctx.out;
    const stdin = process.stdin;
    let stopped = false;
    let wake: (() => void) | undefined;
    const stop = () => {
      stopped = true;
      wake?.();
    };
    const onKey = (b: Buffer) => {
      // q, Ctrl-C (raw mode delivers it as a byte, not a signal), Esc.
      if (b[0] === 0x71 || b[0] === 0x03 || b[0] === 0x1b) stop();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const interactive = out.tty && stdin.isTTY === true;
    if (interactive) {
      stdin.setRawMode(true);
      stdin.on("data", onKey);
      stdin.resume();
      out.write("\x1b[?1049h\x1b[?25l"); // alternate screen, cursor hidden
    }
    try {
      for (let n = 0; !stopped && (count === 0 || n < count); n++) {
        if (n > 0) {
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, interval);
          });
          wake = undefined;
          if (stopped) break;
        }
        const text = ctx.opts.json ? JSON.stringify(await Promise.all([c.apps(), c.balancers()]).then(([a, b]) => ({ at: Date.now(), apps: a.apps, balancers: b.balancers }))) : await frame(c, out, only);
        if (out.tty) out.write(`\x1b[H\x1b[2J${text}\n${out.style.dim(`every ${intervalText}; q to quit`)}\n`);
        else out.line(n > 0 && !ctx.opts.json ? `\n${text}` : text);
      }
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      if (interactive) {
        out.write("\x1b[?25h\x1b[?1049l");
        stdin.off("data", onKey);
        stdin.setRawMode(false);
        stdin.pause();
      }
    }
    return 0;
  },
};
