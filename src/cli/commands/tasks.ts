// Task commands: `polis tasks` lists (read role), `polis run -- CMD ARGS` queues a command and waits for it,
// streaming its output and exiting with its code, `polis task cancel|execute ...` changes one (operator).
import type { Json } from "../../client/client.ts";
import { type CommandContext, type CommandDef, parseDuration, UsageError } from "../args.ts";
import { formatTime } from "../output.ts";
import { duration, table } from "../table.ts";

const json = (ctx: CommandContext, v: unknown) => {
  ctx.out.line(JSON.stringify(v, null, 2));
  return 0;
};
const at = (iso: unknown, now: number) => (typeof iso === "string" ? formatTime(Date.parse(iso), now) : "-");
const PRIORITIES = ["low", "medium", "high", "critical"];
const STATES = ["queued", "starting", "running", "succeeded", "failed", "timed_out", "cancelled", "lost"];
const FINISHED = new Set(["succeeded", "failed", "timed_out", "cancelled"]);
const took = (t: Json) => (t.startedAt ? duration((t.finishedAt ? Date.parse(t.finishedAt) : Date.now()) - Date.parse(t.startedAt)) : "-");

export const tasks: CommandDef = {
  name: "tasks",
  summary: "tasks of the queue, newest first (or one task with its attempts)",
  details: "States: queued, starting, running, succeeded, failed, timed_out, cancelled. Secret-looking env values are shown as [redacted].",
  args: [{ name: "id", description: "show this task only", optional: true }],
  options: [
    { name: "status", type: "string", value: "STATE", description: "only tasks in this state", choices: STATES },
    { name: "name", type: "string", value: "NAME", description: "only tasks of this name" },
    { name: "limit", type: "string", value: "N", description: "at most N tasks (default 50)" },
  ],
  role: "read",
  examples: ["polis tasks", "polis tasks --status running", "polis tasks 42"],
  async run(ctx) {
    const c = ctx.client();
    const now = Date.now();
    if (ctx.args.id !== undefined) {
      const t = await c.call("GET", `/v1/tasks/${encodeURIComponent(ctx.args.id)}`);
      if (ctx.opts.json) return json(ctx, t);
      const rows: Array<[string, unknown]> = [
        ["task", `${t.id} ${t.name}`],
        ["state", ctx.out.style.state(String(t.state))],
        ["command", [t.command, ...t.args].join(" ")],
        ["priority", t.priority],
        ["reason", t.reason],
        ["exit code", t.exitCode],
        ["created", at(t.createdAt, now)],
        ["took", took(t)],
        ["stdout", t.output?.stdout.note],
        ["stderr", t.output?.stderr.note],
      ];
      for (const [k, v] of rows) if (v !== undefined && v !== null) ctx.out.line(`${k.padEnd(10)} ${v}`);
      if (t.attempts.length > 0) ctx.out.line(`\nAttempts\n${table(["#", "started", "pid", "exit", "outcome"], t.attempts.map((a: Json) => [a.attempt, at(a.startedAt, now), a.pid, a.exitCode ?? a.signal, a.outcome]))}`);
      return 0;
    }
    const limit = ctx.opts.limit as string | undefined;
    if (limit !== undefined && !/^\d{1,3}$/.test(limit)) throw new UsageError(`--limit must be a whole number from 1 to 500; got "${limit}"`);
    const r = await c.call("GET", "/v1/tasks", undefined, { status: ctx.opts.status, name: ctx.opts.name, limit: limit ?? 50 });
    if (ctx.opts.json) return json(ctx, r);
    const list = r.tasks as Json[];
    if (list.length === 0) return ctx.out.line("no tasks"), 0;
    ctx.out.line(table(["id", "state", "name", "priority", "command", "exit", "attempts", "created", "took"], list.map((t) => [t.id, ctx.out.style.state(String(t.state)), t.name, t.priority, [t.command, ...t.args].join(" ").slice(0, 60), t.exitCode ?? t.signal, t.attempts.length, at(t.createdAt, now), took(t)])));
    if (r.total > list.length) ctx.out.line(`(${list.length} of ${r.total}; --limit or --status to see others)`);
    return 0;
  },
};

export const run: CommandDef = {
  name: "run",
  summary: "queue a command as a task, stream its output, exit with its exit code",
  details:
    "Needs api.allow_api_tasks: true in the agent's config. The task runs on the agent's host under its supervision (process group, timeout, retries); interrupting polis run leaves it running (cancel it with polis task cancel ID). Exits 1 when it failed without an exit code (timeout, signal, cancel).",
  rest: "CMD [ARGS...]",
  options: [
    { name: "name", type: "string", value: "NAME", description: "the task's name (default: the command's file name)" },
    { name: "priority", type: "string", value: "PRIORITY", description: "queue priority (default medium)", choices: PRIORITIES },
    { name: "timeout", type: "string", value: "DURATION", description: "stop it after this long" },
    { name: "retries", type: "string", value: "N", description: "run it again up to N times if it fails" },
    { name: "detach", type: "boolean", description: "queue it and print its id, without waiting" },
  ],
  role: "operator",
  examples: ["polis run -- /usr/bin/backup --full", "polis run --timeout 10m --retries 2 -- ./migrate.sh", "polis run --detach -- sleep 60"],
  async run(ctx) {
    const words = ctx.rest ?? [];
    if (words.length === 0) throw new UsageError("missing the command to run: polis run [options] -- CMD [ARGS...]");
    const [command, ...args] = words as [string, ...string[]];
    const retries = ctx.opts.retries as string | undefined;
    if (retries !== undefined && !/^\d{1,2}$/.test(retries)) throw new UsageError(`--retries must be a whole number from 0 to 99; got "${retries}"`);
    const timeout = ctx.opts.timeout as string | undefined;
    const name = (ctx.opts.name as string | undefined) ?? (command.split("/").pop()!.replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[^A-Za-z0-9]+/, "") || "run");
    const c = ctx.client();
    const t = await c.call("POST", "/v1/tasks", {
      name,
      command,
      args,
      ...(ctx.opts.priority ? { priority: ctx.opts.priority } : {}),
      ...(timeout !== undefined ? { timeout: parseDuration(timeout, "--timeout") } : {}),
      ...(retries !== undefined ? { retries: { max: Number(retries) } } : {}),
    });
    if (ctx.opts.detach) {
      if (ctx.opts.json) return json(ctx, t);
      ctx.out.line(`task ${t.id} queued; follow it with: polis tasks ${t.id}`);
      return 0;
    }
    let end: Json | undefined;
    await c.followTask(t.id, (event, data) => {
      if (event === "output") (data.stream === "stderr" ? process.stderr : process.stdout).write(String(data.text));
      else if (event === "end") end = data;
    });
    const fin: Json = (end as Json | undefined) ?? (await c.call("GET", `/v1/tasks/${encodeURIComponent(t.id)}`));
    if (ctx.opts.json) return json(ctx, fin);
    if (fin.state !== "succeeded") ctx.out.error(`polis run: task ${t.id} ${String(fin.state).replace("_", " ")}${fin.reason ? `: ${fin.reason}` : ""}`);
    return typeof fin.exitCode === "number" ? fin.exitCode : fin.state === "succeeded" ? 0 : 1;
  },
};

export const task: CommandDef = {
  name: "task",
  summary: "cancel a task, or run a task declared in the config now (with its parameters)",
  details: "cancel: a queued task is dropped, a running one is stopped (SIGTERM to its process group, SIGKILL after its kill_timeout). execute: NAME is a task of the config's tasks: list; --param k=v (comma-separated) sets its parameters.",
  args: [
    { name: "action", description: "what to do", choices: ["cancel", "execute"] },
    { name: "target", description: "cancel: the task's id; execute: the declared task's name" },
  ],
  options: [{ name: "param", type: "string", value: "K=V[,K=V]", description: "execute: parameters" }],
  role: "operator",
  examples: ["polis task cancel 42", "polis task execute backup --param target=s3"],
  async run(ctx) {
    const c = ctx.client();
    const target = ctx.args.target!;
    if (ctx.args.action === "cancel") {
      const t = await c.call("POST", `/v1/tasks/${encodeURIComponent(target)}/cancel`, {});
      if (ctx.opts.json) return json(ctx, t);
      ctx.out.line(t.state === "cancelled" ? `task ${t.id} cancelled` : `task ${t.id}: stopping (SIGTERM, then SIGKILL after ${duration(t.killTimeoutMs ?? 10_000)})`);
      return 0;
    }
    const params: Record<string, string> = {};
    for (const kv of String(ctx.opts.param ?? "").split(",").filter((x) => x !== "")) {
      const i = kv.indexOf("=");
      if (i <= 0) throw new UsageError(`--param expects K=V (comma-separated); got "${kv}"`);
      params[kv.slice(0, i)] = kv.slice(i + 1);
    }
    const t = await c.call("POST", `/v1/tasks/${encodeURIComponent(target)}/execute`, Object.keys(params).length > 0 ? { params } : {});
    if (ctx.opts.json) return json(ctx, t);
    ctx.out.line(`task ${t.id} (${t.name}) queued; follow it with: polis tasks ${t.id}`);
    return 0;
  },
};
