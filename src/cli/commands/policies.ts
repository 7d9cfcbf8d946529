// Policy commands: `polis policies` lists the installed policies with their status, `polis policy test FILE`
// validates a policy file locally and then asks the running agent what it would do now (no action is taken),
// `polis audit` shows the firings with their condition values and action outcomes.
import { readFileSync } from "node:fs";
import type { Json } from "../../client/client.ts";
import { parsePolicyText, validateDocuments } from "../../policy/loader.ts";
import { type CommandContext, type CommandDef, UsageError } from "../args.ts";
import { formatTime } from "../output.ts";
import { table } from "../table.ts";

const json = (ctx: CommandContext, v: unknown) => {
  ctx.out.line(JSON.stringify(v, null, 2));
  return 0;
};
const at = (iso: unknown, now: number) => (typeof iso === "string" ? formatTime(Date.parse(iso), now) : "-");
const value = (v: unknown) => (typeof v === "number" ? String(Math.round(v * 1000) / 1000) : v === undefined || v === null ? "-" : String(v));

export const policies: CommandDef = {
  name: "policies",
  summary: "installed policies (files and API): mode, priority, rules, firing now, last action",
  details: "Policy files live in the config's policies.dir (default: policies/ beside the config file) and are read again on `polis reload`; a bad file refuses the whole set and the running one stays. See docs/policies.md.",
  role: "read",
  examples: ["polis policies", "polis policies --json"],
  async run(ctx) {
    const r = await ctx.client().call("GET", "/v1/policies");
    if (ctx.opts.json) return json(ctx, r);
    const list = r.policies as Json[];
    if (list.length === 0) {
      ctx.out.line("no policies");
      return 0;
    }
    const now = Date.now();
    ctx.out.line(
      table(
        ["policy", "mode", "priority", "rules", "firing", "last firing", "source"],
        list.map((s) => {
          const last = (s.lastActions as Json[])[0];
          return [`${s.policy.namespace}/${s.policy.name}`, s.policy.mode, s.policy.priority, (s.policy.rules as Json[]).map((x) => x.name).join(","), s.firing, last ? `${at(last.at, now)} ${last.rule} on ${last.target}` : "-", s.policy.source];
        }),
      ),
    );
    return 0;
  },
};

export const policy: CommandDef = {
  name: "policy",
  summary: "test a policy file (validate, then what-if against the running agent), or what-if an installed policy",
  details:
    "`polis policy test FILE` validates every document in FILE (YAML, several separated by ---, or JSON) with the paths of all problems, then asks the agent which rules would hold now on which targets and why. Nothing is installed and no action is taken. `polis policy evaluate NAMESPACE/NAME` does the what-if for an installed policy.",
  args: [
    { name: "action", description: "what to do", choices: ["test", "evaluate"] },
    { name: "what", description: "test: the policy file; evaluate: NAMESPACE/NAME" },
  ],
  options: [{ name: "offline", type: "boolean", description: "test: validate only, without asking the agent (task names are not checked)" }],
  role: "read",
  examples: ["polis policy test config/policies/web.yaml", "polis policy test web.yaml --offline", "polis policy evaluate default/web-error-budget"],
  async run(ctx) {
    const what = ctx.args.what!;
    if (ctx.args.action === "evaluate") {
      const m = /^([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(what);
      if (!m) throw new UsageError(`expected NAMESPACE/NAME, got "${what}"`);
      const r = await ctx.client().call("POST", `/v1/policies/${m[1]}/${m[2]}/evaluate`, {});
      return ctx.opts.json ? json(ctx, r) : printWhatIf(ctx, r.results as Json[]);
    }
    let text: string;
    try {
      text = readFileSync(what, "utf8");
    } catch (e) {
      throw new UsageError(`cannot read ${what}: ${(e as Error).message}`);
    }
    const parsed = parsePolicyText(text, what);
    const local = validateDocuments(parsed.docs, what, { tasks: null });
    const problems = [...parsed.problems, ...local.problems];
    if (problems.length === 0 && parsed.docs.length === 0) problems.push({ file: what, path: "(root)", message: "no policy document in the file" });
    if (problems.length > 0) {
      for (const p of problems) ctx.out.line(`${p.file}: ${p.path}: ${p.message}`);
      ctx.out.line(`${problems.length} problem(s); the file would be refused whole`);
      return 1;
    }
    if (ctx.opts.offline) {
      ctx.out.line(`${what}: ${local.policies.length} valid policy(ies): ${local.policies.map((p) => `${p.namespace}/${p.name}`).join(", ")}`);
      return 0;
    }
    const c = ctx.client();
    const v = await c.call("POST", "/v1/policies/validate", { documents: parsed.docs });
    if (!v.valid) {
      for (const p of v.problems as Json[]) ctx.out.line(`${what}: ${p.path}: ${p.message}`);
      ctx.out.line(`${(v.problems as Json[]).length} problem(s) against the running agent's config; the file would be refused whole`);
      return 1;
    }
    const r = await c.call("POST", "/v1/policies/evaluate", { documents: parsed.docs });
    if (ctx.opts.json) return json(ctx, r);
    ctx.out.line(`${what}: valid (${local.policies.length} policy(ies))`);
    return printWhatIf(ctx, r.results as Json[]);
  },
};

function printWhatIf(ctx: CommandContext, results: Json[]): number {
  if (results.length === 0) {
    ctx.out.line("no rule holds on any target now");
    return 0;
  }
  ctx.out.line(
    table(
      ["policy", "rule", "target", "conditions", "actions"],
      results.map((x) => [x.policy, x.rule, x.target, (x.conditions as Json[]).map((c) => `${c.path}=${value(c.value)}${c.holds ? "" : " (no)"}`).join("; "), (x.actions as Json[]).map((a) => `${a.type}:${a.disposition}`).join(", ")]),
    ),
  );
  return 0;
}

export const audit: CommandDef = {
  name: "audit",
  summary: "policy firings, newest first: conditions with their values, actions and their outcomes",
  args: [],
  options: [
    { name: "policy", type: "string", value: "NAMESPACE/NAME", description: "only this policy's firings" },
    { name: "target", type: "string", value: "TARGET", description: "only firings on this target (app, or app-N for a replica)" },
    { name: "since", type: "string", value: "TIME", description: "only firings at or after this ISO 8601 time" },
    { name: "limit", type: "string", value: "N", description: "at most N records (default 50)" },
  ],
  role: "read",
  examples: ["polis audit", "polis audit --policy default/web-error-budget", "polis audit --target web-1 --limit 10"],
  async run(ctx) {
    const limit = ctx.opts.limit as string | undefined;
    if (limit !== undefined && !/^\d{1,4}$/.test(limit)) throw new UsageError(`--limit must be a whole number from 1 to 9999; got "${limit}"`);
    const r = await ctx.client().call("GET", "/v1/policies/audit", undefined, { policy: ctx.opts.policy, target: ctx.opts.target, since: ctx.opts.since, limit: limit ?? 50 });
    if (ctx.opts.json) return json(ctx, r);
    const list = r.records as Json[];
    if (list.length === 0) {
      ctx.out.line("no firings recorded");
      return 0;
    }
    const now = Date.now();
    ctx.out.line(
      table(
        ["id", "at", "policy", "rule", "target", "mode", "values", "actions"],
        list.map((x) => [x.id, at(x.at, now), x.policy, x.rule, x.target, x.mode, (x.conditions as Json[]).map((c) => value(c.value)).join(","), (x.actions as Json[]).map((a) => `${a.type}:${a.outcome}`).join(", ")]),
      ),
    );
    return 0;
  },
};
