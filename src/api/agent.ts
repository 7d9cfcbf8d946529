// GET /v1/agent: version, uptime and the state of every worker; POST crash (tests only) makes a worker fail on purpose.
import { Hono } from "hono";
import type { WorkerInfo } from "../supervisor/worker-host.ts";
import { Schema } from "effect";
import { ApiError } from "./errors.ts";
import { decodeOrThrow, defineRoute, QueryInt, registry } from "./route.ts";

const LogsQuery = Schema.Struct({ tail: Schema.optionalKey(QueryInt(1, 10_000).annotate({ description: "How many of the newest lines (default 100)" })) });

const WorkerView = Schema.Struct({
  name: Schema.String,
  state: Schema.Literals(["starting", "running", "restarting", "stopping", "stopped"]),
  restarts: Schema.Number,
  startedAt: Schema.optional(Schema.Number),
  lastError: Schema.optional(Schema.String),
});
const DriversView = Schema.Struct({
  limits: Schema.Struct({
    cgroup: Schema.Literals(["v2", "v1", "none"]).annotate({ description: "The cgroup hierarchy replica limits are enforced in" }),
    enforced: Schema.Array(Schema.Literals(["memory", "memory_swap", "cpu", "pids", "nofile"])),
    gaps: Schema.Array(Schema.String).annotate({ description: "What cannot be enforced here, and why" }),
  }),
  oci: Schema.Struct({ runtime: Schema.NullOr(Schema.String), note: Schema.optionalKey(Schema.String) }),
}).annotate({ description: "Task drivers: which resource limits this host enforces and which OCI runtime runs containers" });
const AgentViewSchema = Schema.Struct({
  name: Schema.String,
  version: Schema.String,
  pid: Schema.Number,
  startedAt: Schema.Number.annotate({ description: "ms since the epoch" }),
  uptimeMs: Schema.Number,
  configPath: Schema.optional(Schema.String),
  workers: Schema.Array(WorkerView),
  drivers: Schema.optionalKey(DriversView),
});

export interface AgentView {
  name: string;
  version: string;
  pid: number;
  startedAt: number;
  configPath: string | undefined;
  workers: WorkerInfo[];
  drivers?: typeof DriversView.Type;
}

export interface AgentRouteDeps {
  view: () => AgentView;
  /** Present only when agent.allow_fault_injection is on. */
  crashWorker?: (name: string) => boolean;
  recentLogs: (n: number) => string[];
  /** Host view: CPU, memory, disks, load, network. */
  system?: () => Promise<unknown>;
}

export function agentRoutes(deps: AgentRouteDeps): Hono {
  const app = new Hono();
  // These routes answer free-form documents (host facts, log lines) and are listed for /openapi.json here.
  registry.push(
    { method: "get", path: "/v1/agent/system", summary: "Host view: CPU, memory, disks, load, network", response: Schema.Unknown, status: 200, role: "read" },
    { method: "get", path: "/v1/agent/logs", summary: "The agent's own recent log lines (?tail=N)", query: LogsQuery, response: Schema.Struct({ lines: Schema.Array(Schema.Record(Schema.String, Schema.Unknown)) }), status: 200, role: "read" },
  );
  defineRoute(app, "/agent", { method: "get", path: "/", summary: "Version, uptime and the state of every worker", response: AgentViewSchema }, () => {
    const v = deps.view();
    return { ...v, uptimeMs: Date.now() - v.startedAt };
  });
  app.get("/logs", (c) => {
    const { tail } = decodeOrThrow(LogsQuery, c.req.query(), "query");
    return c.json({ lines: deps.recentLogs(tail ?? 100).map((l) => JSON.parse(l)) });
  });
  app.get("/system", async (c) => {
    if (!deps.system) throw new ApiError(404, "not_found", "no system view");
    return c.json((await deps.system()) as object);
  });
  app.post("/workers/:name/crash", (c) => {
    if (!deps.crashWorker) throw new ApiError(403, "forbidden", "fault injection is off (agent.allow_fault_injection)");
    const name = c.req.param("name");
    if (!deps.crashWorker(name)) throw new ApiError(404, "not_found", `no worker named ${name}`);
    return c.json({ crashed: name }, 202);
  });
  return app;
}
