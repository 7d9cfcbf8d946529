// `polis healing`: the recovery ladder and every replica on it (phase, rung, last verdict, next step), or one
// replica's history with `polis healing TARGET`.
import type { Json } from "../../client/client.ts";
import type { CommandDef } from "../args.ts";
import { formatTime } from "../output.ts";
import { table } from "../table.ts";

const at = (iso: unknown, now: number) => (typeof iso === "string" ? formatTime(Date.parse(iso), now) : "-");

export const healing: CommandDef = {
  name: "healing",
  summary: "the recovery ladder (restart -> replace -> scale out -> failover -> alert) and each replica on it",
  details: "A replica gets a ladder once its verdict (endpoint health, outlier ejection, crash loop) is unhealthy for healing.unhealthy_for. With a TARGET (<app>-<replica>) the command prints that ladder's history. See docs/policies.md (Self-healing).",
  role: "read",
  args: [{ name: "target", optional: true, description: "one replica, <app>-<replica>" }],
  examples: ["polis healing", "polis healing web-0", "polis healing --json"],
  async run(ctx) {
    const now = Date.now();
    if (ctx.args.target) {
      const t = await ctx.client().call("GET", `/v1/healing/${encodeURIComponent(ctx.args.target)}`);
      if (ctx.opts.json) {
        ctx.out.line(JSON.stringify(t, null, 2));
        return 0;
      }
      ctx.out.line(`${t.target}  ${t.phase}${t.rung ? ` on ${t.rung} #${t.attempt}` : ""}${t.next ? `  next: ${t.next.step} ${at(t.next.at, now)}` : ""}${(t.failedOver as Json[]).length ? `  failed over: ${(t.failedOver as Json[]).join(", ")}` : ""}`);
      ctx.out.line(table(["at", "step", "reason", "outcome", "detail"], (t.history as Json[]).map((s) => [at(s.at, now), `${s.action}${s.attempt !== undefined ? ` #${s.attempt}` : ""}`, s.reason, s.outcome, s.detail ?? ""])));
      return 0;
    }
    const r = await ctx.client().call("GET", "/v1/healing");
    if (ctx.opts.json) {
      ctx.out.line(JSON.stringify(r, null, 2));
      return 0;
    }
    const l = r.ladder;
    ctx.out.line(`ladder (${l.source}${l.enabled ? "" : ", disabled"}): ${(l.rungs as Json[]).map((x) => `${x.rung} x${x.attempts}`).join(" -> ")} -> alert`);
    const list = r.targets as Json[];
    if (list.length === 0) {
      ctx.out.line("no replica on the ladder");
      return 0;
    }
    ctx.out.line(
      table(
        ["target", "phase", "rung", "verdict", "next", "last step"],
        list.map((t) => {
          const last = (t.history as Json[])[(t.history as Json[]).length - 1];
          return [t.target, t.phase, t.rung ? `${t.rung} #${t.attempt}` : "-", t.verdict ? t.verdict.reason : "-", t.next ? `${t.next.step} ${at(t.next.at, now)}` : "-", last ? `${last.action} ${last.outcome}` : "-"];
        }),
      ),
    );
    return 0;
  },
};
