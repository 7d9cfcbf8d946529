// Client commands for rollouts: deploy a new revision, follow and steer a rollout, roll back, list revisions.
import type { Json, PolisClient } from "../../client/client.ts";
import { REVISION_KEYS as SETTABLE } from "../../config/revision.ts";
import { type CommandContext, type CommandDef, parseDuration, UsageError } from "../args.ts";
import { formatTime } from "../output.ts";
import { table } from "../table.ts";

/** How often --watch looks at the rollout. */
const WATCH_MS = 500;

const list = (v: string | boolean | string[] | undefined): string[] => (Array.isArray(v) ? v : typeof v === "string" ? [v] : []);

function splitPair(text: string, flag: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`${flag} takes KEY=VALUE; got "${text}"`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** --set KEY=VALUE: JSON when the value parses as JSON of the right kind, else the text (args: split on blanks). */
export function specFromFlags(sets: readonly string[], envs: readonly string[], unsets: readonly string[]): Json {
  const spec: Json = {};
  for (const s of sets) {
    const [k, v] = splitPair(s, "--set");
    if (!(SETTABLE as readonly string[]).includes(k)) throw new UsageError(`--set ${k}: not part of a revision; one of ${SETTABLE.join(", ")}`);
    let value: unknown = v;
    if (k === "args") value = v.trim().startsWith("[") ? parseJson(v, k) : v.split(/\s+/).filter(Boolean);
    else if (k === "readiness" || k === "checks" || k === "env" || k === "resources" || k === "oci") value = parseJson(v, k);
    spec[k] = value;
  }
  const env: Json = typeof spec.env === "object" && spec.env !== null ? { ...spec.env } : {};
  for (const e of envs) {
    const [k, v] = splitPair(e, "--env");
    env[k] = v;
  }
  for (const k of unsets) env[k] = null;
  if (Object.keys(env).length > 0) spec.env = env;
  return spec;
}

function parseJson(text: string, key: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--set ${key}=...: the value must be JSON here; got "${text}"`);
  }
}

/** "rev 3: 2/3 ready, 1 available" per revision, the target first. */
function liveText(r: Json): string {
  const live = r.live as Json | null;
  if (!live) return "";
  const parts = ((live.revisions as Json[]) ?? []).map((c) => `rev ${c.revision}${c.revision === r.target ? " (target)" : ""}: ${c.ready}/${c.total} ready, ${c.available} available`);
  return `desired ${live.desired}; ${parts.join("; ") || "no replicas"}`;
}

export function rolloutLine(r: Json): string {
  const verb = r.phase === "revert" ? `reverting ${r.to} -> ${r.from}` : `${r.from} -> ${r.to}`;
  const why = r.failure ? ` (${r.failure})` : "";
  const live = liveText(r);
  const split = r.split as Json | null;
  const steps = ((r.strategy as Json | undefined)?.steps as Json[] | undefined) ?? [];
  const step = r.step === null || r.step === undefined ? "" : ` | step ${Number(r.step) + 1}/${steps.length}${r.step_at ? "" : " (starting its replicas)"}${r.reason === "awaiting-promote" ? " awaiting promote" : ""}`;
  const weights = split ? ` | traffic: rev ${split.revision} ${split.percent}%` : "";
  return `${r.id} ${r.status}: revision ${verb}${why}${step}${weights}${live ? ` | ${live}` : ""}`;
}

/** Follows a rollout until it ends: a line per change (or one live line on a terminal). Exit 0 only on success. */
async function watch(ctx: CommandContext, c: PolisClient, app: string, id: string): Promise<number> {
  let last = "";
  let live = false;
  for (;;) {
    const r = await c.deployment(app, id);
    const text = rolloutLine(r);
    if (text !== last) {
      if (ctx.out.tty) {
        ctx.out.write(`\r\x1b[2K${text}`);
        live = true;
      } else ctx.out.line(text);
      last = text;
    }
    if (!r.active || r.status === "failed-paused") {
      if (live) ctx.out.write("\n");
      return r.status === "succeeded" ? 0 : 1;
    }
    await Bun.sleep(WATCH_MS);
  }
}

const activeOf = async (c: PolisClient, app: string): Promise<Json | undefined> => (await c.deployments(app)).deployments.find((d) => d.active);

export const deploy: CommandDef = {
  name: "deploy",
  summary: "roll out a new revision of an app (a change of command, args, env, ...)",
  details:
    "Sends a merge patch of the app's revision fields; the agent validates it whole (a bad spec creates no revision), records the revision and rolls it out with the app's deploy settings: new replicas beside the old, each counted once ready and passing for min_healthy_time, old ones drained before they stop, and an automatic revert when a new replica crashes or is not healthy in time. --env merges into the environment; --unset-env removes a variable. With --watch it follows the rollout (exit 1 unless it succeeds). The config file is not edited: a later reload deploys again only if the file's own revision fields change.",
  args: [{ name: "app", description: "the app's name" }],
  options: [
    { name: "set", type: "string", value: "KEY=VALUE", multiple: true, description: `a revision field: ${SETTABLE.join(", ")} (args as words or a JSON list; readiness, checks, env, resources, oci as JSON)` },
    { name: "env", short: "e", type: "string", value: "K=V", multiple: true, description: "set one environment variable" },
    { name: "unset-env", type: "string", value: "K", multiple: true, description: "remove one environment variable" },
    { name: "strategy", type: "string", value: "NAME", choices: ["rolling", "canary", "blue_green"], description: "the rollout strategy for this rollout (canary and blue_green take their steps from the app's deploy block)" },
    { name: "max-surge", type: "string", value: "N", description: "new replicas beyond the desired count at once, for this rollout" },
    { name: "min-healthy-time", type: "string", value: "DURATION", description: "how long a new replica must pass before it counts, for this rollout" },
    { name: "watch", short: "w", type: "boolean", description: "follow the rollout until it ends" },
  ],
  // It changes the command a replica runs: the admin role, as PATCH /v1/config.
  role: "admin",
  examples: ["polis deploy web --env VERSION=2.4.1", "polis deploy web --set command=/srv/web/bin/server --set 'args=--port $PORT' --watch", "polis deploy web --unset-env DEBUG --max-surge 2"],
  async run(ctx) {
    const app = ctx.args.app!;
    const spec = specFromFlags(list(ctx.opts.set), list(ctx.opts.env), list(ctx.opts["unset-env"]));
    if (Object.keys(spec).length === 0) throw new UsageError("nothing to deploy: give --set, --env or --unset-env");
    const strategy: Json = {};
    if (ctx.opts.strategy !== undefined) strategy.strategy = String(ctx.opts.strategy);
    if (ctx.opts["max-surge"] !== undefined) {
      const n = String(ctx.opts["max-surge"]);
      if (!/^\d{1,4}$/.test(n)) throw new UsageError(`--max-surge must be a whole number; got "${n}"`);
      strategy.max_surge = Number(n);
    }
    if (ctx.opts["min-healthy-time"] !== undefined) {
      const ms = parseDuration(String(ctx.opts["min-healthy-time"]), "--min-healthy-time");
      strategy.min_healthy_time = `${ms}ms`;
    }
    const c = ctx.client();
    const r = await c.deploy(app, spec, Object.keys(strategy).length > 0 ? strategy : undefined);
    if (ctx.opts.json && !ctx.opts.watch) return ctx.out.line(JSON.stringify(r, null, 2)), 0;
    ctx.out.line(`${app}: rollout ${r.id} of revision ${r.to} started (replacing revision ${r.from})`);
    if (!ctx.opts.watch) {
      ctx.out.line(`  follow it: polis rollout status ${app} --watch`);
      return 0;
    }
    return watch(ctx, c, app, String(r.id));
  },
};

export const rollout: CommandDef = {
  name: "rollout",
  summary: "show, promote, pause, resume or abort an app's rollout",
  details:
    "status prints the newest rollout (its phase, target revision, per-revision ready and available counts and the reason it is in); with --watch it follows it until it ends, one line per change when stdout is not a terminal. pause stops starting and retiring replicas; resume goes on (after a failure with auto_revert off: retries); abort reverts to the revision the rollout replaced (giving it all the traffic back at once when the rollout had shifted any). promote moves a canary or blue_green rollout past its current traffic step (its pause and its analysis gate): to the next step, or to replacing the rest; the rolling strategy has no steps to promote.",
  args: [
    { name: "action", description: "what to do", choices: ["status", "promote", "pause", "resume", "abort"] },
    { name: "app", description: "the app's name" },
  ],
  options: [{ name: "watch", short: "w", type: "boolean", description: "status: follow the rollout until it ends" }],
  role: "operator",
  examples: ["polis rollout status web --watch", "polis rollout promote web", "polis rollout pause web", "polis rollout abort web"],
  async run(ctx) {
    const c = ctx.client();
    const app = ctx.args.app!;
    const action = ctx.args.action as "status" | "promote" | "pause" | "resume" | "abort";
    if (action === "status") {
      const all = await c.deployments(app);
      const newest = all.deployments[0];
      if (ctx.opts.json) return ctx.out.line(JSON.stringify(newest ?? null, null, 2)), 0;
      if (!newest) {
        ctx.out.line(`${app}: no rollout yet; it runs revision ${all.current}`);
        return 0;
      }
      if (ctx.opts.watch && newest.active) return watch(ctx, c, app, String(newest.id));
      ctx.out.line(`${app}: ${rolloutLine(newest)}`);
      ctx.out.line(`  started ${formatTime(Date.parse(String(newest.started_at)))} by ${newest.by}; runs revision ${all.current}${all.target !== all.current ? `, new replicas get ${all.target}` : ""}`);
      return 0;
    }
    const active = await activeOf(c, app);
    if (!active) {
      ctx.out.error(`polis rollout: ${app} has no rollout in progress`);
      return 1;
    }
    const r = await c.rolloutControl(app, String(active.id), action);
    ctx.out.line(ctx.opts.json ? JSON.stringify(r, null, 2) : `${app}: ${rolloutLine(r)}`);
    return 0;
  },
};

export const rollback: CommandDef = {
  name: "rollback",
  summary: "roll an app back to an earlier revision (default: the one before)",
  details: "Starts a rollout to REVISION (see polis revisions APP), or to the newest revision before the one the app runs; it replaces replicas as any rollout does, and supersedes a rollout in progress. With --watch it follows it.",
  args: [
    { name: "app", description: "the app's name" },
    { name: "revision", description: "the revision number to go back to", optional: true },
  ],
  options: [{ name: "watch", short: "w", type: "boolean", description: "follow the rollout until it ends" }],
  role: "operator",
  examples: ["polis rollback web", "polis rollback web 3 --watch"],
  async run(ctx) {
    const rev = ctx.args.revision;
    if (rev !== undefined && !/^\d{1,9}$/.test(rev)) throw new UsageError(`REVISION must be a revision number such as 3; got "${rev}"`);
    const c = ctx.client();
    const app = ctx.args.app!;
    const r = await c.rollback(app, rev === undefined ? undefined : Number(rev));
    if (ctx.opts.json && !ctx.opts.watch) return ctx.out.line(JSON.stringify(r, null, 2)), 0;
    ctx.out.line(`${app}: rollback ${r.id} to revision ${r.to} started (from revision ${r.from})`);
    return ctx.opts.watch ? watch(ctx, c, app, String(r.id)) : 0;
  },
};

export const revisions: CommandDef = {
  name: "revisions",
  summary: "list an app's revisions and which one it runs",
  args: [{ name: "app", description: "the app's name" }],
  role: "read",
  examples: ["polis revisions web"],
  async run(ctx) {
    const r = await ctx.client().revisions(ctx.args.app!);
    if (ctx.opts.json) return ctx.out.line(JSON.stringify(r, null, 2)), 0;
    const rows = [...r.revisions].reverse().map((v) => {
      const f = v.fields as Json;
      const cmd = [f.command, ...((f.args as string[]) ?? [])].join(" ");
      const mark = v.number === r.current ? "running" : v.number === r.target ? "rolling out" : "";
      return [v.number, mark, v.hash, `${v.source} (${v.by})`, formatTime(Date.parse(String(v.created_at))), cmd.length > 60 ? `${cmd.slice(0, 57)}...` : cmd];
    });
    ctx.out.line(table(["REV", "", "HASH", "FROM", "CREATED", "COMMAND"], rows));
    return 0;
  },
};
