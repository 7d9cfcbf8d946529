// Alert commands: `polis alerts` lists (read role), `polis alert ack|resolve ID` changes one (operator),
// `polis silence` lists, adds and expires silences (operator).
import type { Json } from "../../client/client.ts";
import { type CommandContext, type CommandDef, parseDuration, UsageError } from "../args.ts";
import { formatTime } from "../output.ts";
import { table } from "../table.ts";

const json = (ctx: CommandContext, v: unknown) => {
  ctx.out.line(JSON.stringify(v, null, 2));
  return 0;
};
const at = (iso: unknown, now: number) => (typeof iso === "string" ? formatTime(Date.parse(iso), now) : "-");
const labelText = (l: Json) =>
  Object.entries(l)
    .filter(([k]) => k !== "alertname" && k !== "severity")
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

export const alerts: CommandDef = {
  name: "alerts",
  summary: "alerts, newest first (or one alert with its whole record)",
  details:
    "States: firing, acknowledged, silenced (a silence matches), resolved. Alerts come from the built-in sources (config alerts.sources), from POST /v1/alerts and from policies. Change one with `polis alert ack|resolve ID`.",
  args: [{ name: "id", description: "show this alert only", optional: true }],
  options: [
    { name: "state", type: "string", value: "STATE", description: "only alerts in this state", choices: ["firing", "acknowledged", "silenced", "resolved"] },
    { name: "severity", type: "string", value: "SEVERITY", description: "only this severity", choices: ["info", "warning", "critical"] },
    { name: "label", type: "string", value: "K=V[,K=V]", description: "only alerts with these label values" },
    { name: "limit", type: "string", value: "N", description: "at most N alerts (default 50)" },
  ],
  role: "read",
  examples: ["polis alerts", "polis alerts --state firing", "polis alerts --label app=web", "polis alerts 12"],
  async run(ctx) {
    const c = ctx.client();
    const now = Date.now();
    if (ctx.args.id !== undefined) {
      const a = await c.call("GET", `/v1/alerts/${encodeURIComponent(ctx.args.id)}`);
      if (ctx.opts.json) return json(ctx, a);
      const rows: Array<[string, unknown]> = [
        ["alert", `${a.id} ${a.name}`],
        ["severity", a.severity],
        ["state", ctx.out.style.state(String(a.state))],
        ["labels", labelText(a.labels) || "-"],
        ["summary", a.annotations.summary],
        ["description", a.annotations.description],
        ["runbook", a.annotations.runbook_url],
        ["source", a.source],
        ["started", at(a.startsAt, now)],
        ["last seen", at(a.lastSeenAt, now)],
        ["occurrences", a.occurrences],
        ["last value", a.lastValue],
        ["acknowledged", a.acknowledgedAt ? `${at(a.acknowledgedAt, now)} by ${a.acknowledgedBy}${a.ackComment ? `: ${a.ackComment}` : ""}` : undefined],
        ["resolved", a.resolvedAt ? `${at(a.resolvedAt, now)} by ${a.resolvedBy}${a.resolveComment ? `: ${a.resolveComment}` : ""}` : undefined],
        ["silenced by", a.silencedBy.length > 0 ? a.silencedBy.join(", ") : undefined],
        ["inhibited by", a.inhibitedBy.length > 0 ? a.inhibitedBy.join(", ") : undefined],
        ["fingerprint", a.fingerprint],
      ];
      for (const [k, v] of rows) if (v !== undefined && v !== null) ctx.out.line(`${k.padEnd(13)} ${v}`);
      return 0;
    }
    const limit = ctx.opts.limit as string | undefined;
    if (limit !== undefined && !/^\d{1,3}$/.test(limit)) throw new UsageError(`--limit must be a whole number from 1 to 500; got "${limit}"`);
    const r = await c.call("GET", "/v1/alerts", undefined, { state: ctx.opts.state, severity: ctx.opts.severity, label: ctx.opts.label, limit: limit ?? 50 });
    if (ctx.opts.json) return json(ctx, r);
    const list = r.alerts as Json[];
    if (list.length === 0) {
      ctx.out.line(ctx.opts.state || ctx.opts.severity || ctx.opts.label ? "no alerts match" : "no alerts");
      return 0;
    }
    ctx.out.line(table(["id", "state", "severity", "alert", "labels", "started", "count", "summary"], list.map((a) => [a.id, ctx.out.style.state(String(a.state)), a.severity, a.name, labelText(a.labels), at(a.startsAt, now), a.occurrences, a.annotations.summary])));
    if (r.total > list.length) ctx.out.line(`(${list.length} of ${r.total}; --limit or --state to see others)`);
    return 0;
  },
};

export const alert: CommandDef = {
  name: "alert",
  summary: "acknowledge (seen, working on it) or resolve an alert",
  details: "Acknowledging stops repeat notifications of the alert; it resolves by itself when its condition clears. Resolving by hand an alert whose condition still holds starts a new one at the next evaluation.",
  args: [
    { name: "action", description: "what to do", choices: ["ack", "resolve"] },
    { name: "id", description: "the alert's id (polis alerts lists them)" },
  ],
  options: [{ name: "comment", type: "string", value: "TEXT", description: "a note kept with the alert" }],
  role: "operator",
  examples: ['polis alert ack 12 --comment "looking into it"', "polis alert resolve 12"],
  async run(ctx) {
    const id = ctx.args.id!;
    const path = ctx.args.action === "ack" ? "acknowledge" : "resolve";
    const comment = ctx.opts.comment as string | undefined;
    const a = await ctx.client().call("POST", `/v1/alerts/${encodeURIComponent(id)}/${path}`, comment !== undefined ? { comment } : {});
    if (ctx.opts.json) return json(ctx, a);
    ctx.out.line(ctx.args.action === "ack" ? `alert ${a.id} (${a.name}) acknowledged by ${a.acknowledgedBy}` : `alert ${a.id} (${a.name}) resolved`);
    return 0;
  },
};

export const silence: CommandDef = {
  name: "silence",
  summary: "list silences, silence the alerts matching some labels for a while, or end a silence",
  details:
    "Matchers are Alertmanager's: name=value, name!=value, name=~regex, name!~regex; several are joined by commas and must all hold. A silenced alert is still recorded and shown (state silenced) but not notified.",
  args: [
    { name: "action", description: "what to do (default: list)", choices: ["list", "add", "expire"], optional: true },
    { name: "what", description: "add: the matchers; expire: the silence's id", optional: true },
  ],
  options: [
    { name: "for", type: "string", value: "DURATION", description: "add: how long (default 1h)" },
    { name: "comment", type: "string", value: "TEXT", description: "add: why (required)" },
  ],
  role: "operator",
  examples: ['polis silence add app=web,severity=warning --for 2h --comment "deploying"', "polis silence", "polis silence expire s3"],
  async run(ctx) {
    const c = ctx.client();
    const action = ctx.args.action ?? "list";
    const now = Date.now();
    if (action === "list") {
      if (ctx.args.what !== undefined) throw new UsageError("list takes no further argument");
      const r = await c.call("GET", "/v1/silences");
      if (ctx.opts.json) return json(ctx, r);
      const list = r.silences as Json[];
      ctx.out.line(list.length === 0 ? "no silences" : table(["id", "state", "matchers", "ends", "by", "comment"], list.map((s) => [s.id, s.state, s.matchers.join(","), at(s.endsAt, now), s.createdBy, s.comment])));
      return 0;
    }
    const what = ctx.args.what;
    if (what === undefined) throw new UsageError(action === "add" ? "missing argument WHAT: the matchers, e.g. app=web,severity=warning" : "missing argument WHAT: the silence's id");
    if (action === "expire") {
      const s = await c.call("DELETE", `/v1/silences/${encodeURIComponent(what)}`);
      if (ctx.opts.json) return json(ctx, s);
      ctx.out.line(`silence ${s.id} expired`);
      return 0;
    }
    const comment = ctx.opts.comment as string | undefined;
    if (!comment) throw new UsageError("--comment is required: say why the alerts are silenced");
    const ms = parseDuration((ctx.opts.for as string | undefined) ?? "1h", "--for");
    if (ms <= 0) throw new UsageError("--for must be longer than 0");
    const matchers = what.split(",").map((m) => m.trim()).filter((m) => m !== "");
    const s = await c.call("POST", "/v1/silences", { matchers, endsAt: new Date(now + ms).toISOString(), comment });
    if (ctx.opts.json) return json(ctx, s);
    ctx.out.line(`silence ${s.id} on ${s.matchers.join(",")} until ${at(s.endsAt, now)}; end it early with: polis silence expire ${s.id}`);
    return 0;
  },
};
