// /v1/checks and /v1/health: check state, history and summary; TTL pushes; standalone checks created and deleted
// through the API (command checks only when the config allows them: they run programs on this host).
import { Schema } from "effect";
import { Hono } from "hono";
import { checkRules } from "../config/semantics.ts";
import { StandaloneCheck, type StandaloneCheckConfig } from "../config/schema.ts";
import { ApiError } from "./errors.ts";
import { decodeOrThrow, defineRoute, param } from "./route.ts";

const Status = Schema.NullOr(Schema.Literals(["passing", "warning", "critical"]));
const Summary = Schema.Struct({
  count: Schema.Number,
  uptimePercent: Schema.Number,
  meanLatencyMs: Schema.Number,
  p95LatencyMs: Schema.Number,
  timeInStateMs: Schema.Record(Schema.String, Schema.Number),
});
export const CheckView = Schema.Struct({
  id: Schema.String,
  kind: Schema.String,
  target: Schema.String,
  source: Schema.Literals(["app", "config", "api"]),
  app: Schema.optionalKey(Schema.String),
  status: Status,
  flapping: Schema.Boolean,
  output: Schema.optionalKey(Schema.String),
  since: Schema.optionalKey(Schema.Number),
  phi: Schema.optionalKey(Schema.Number),
  summary: Schema.optionalKey(Summary),
});
export type CheckView = typeof CheckView.Type;
const HistoryEntry = Schema.Struct({ at: Schema.Number, status: Schema.Literals(["passing", "warning", "critical"]), latencyMs: Schema.Number, output: Schema.String });

export interface CheckRouteDeps {
  list: () => CheckView[];
  history: (id: string) => Promise<Array<typeof HistoryEntry.Type>>;
  pushTtl: (id: string, status: "pass" | "warn" | "fail", note?: string) => Promise<void>;
  create: (check: StandaloneCheckConfig) => void;
  remove: (id: string) => "removed" | "not_found" | "not_api";
  allowCommandChecks: () => boolean;
}

export function checkRoutes(deps: CheckRouteDeps): Hono {
  const app = new Hono();
  const P = "/checks";
  const find = (id: string) => {
    const c = deps.list().find((x) => x.id === id);
    if (!c) throw new ApiError(404, "not_found", `no check ${id}`);
    return c;
  };
  defineRoute(app, P, { method: "get", path: "/", summary: "Every check with its state", response: Schema.Struct({ checks: Schema.Array(CheckView) }) }, () => ({ checks: deps.list() }));
  defineRoute(app, P, { method: "get", path: "/:id", summary: "One check", response: CheckView }, (c) => find(param(c, "id")));
  defineRoute(app, P, { method: "get", path: "/:id/history", summary: "The last results of one check", response: Schema.Struct({ id: Schema.String, results: Schema.Array(HistoryEntry) }) }, async (c) => {
    const id = param(c, "id");
    find(id);
    return { id, results: await deps.history(id) };
  });
  for (const status of ["pass", "warn", "fail"] as const) {
    defineRoute(app, P, { method: "put", path: `/:id/${status}`, summary: `TTL check: report ${status}`, body: Schema.Struct({ note: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(4096))) }), response: CheckView }, async (c, { body }) => {
      const id = param(c, "id");
      const check = find(id);
      if (check.kind !== "ttl") throw new ApiError(409, "not_ttl", `check ${id} is a ${check.kind} check; only ttl checks take pushes`);
      await deps.pushTtl(id, status, body.note);
      return find(id);
    });
  }
  defineRoute(app, P, { method: "post", path: "/", summary: "Create a standalone check", body: Schema.Record(Schema.String, Schema.Unknown), response: CheckView, status: 201 }, (_c, { body }) => {
    const check = decodeOrThrow(StandaloneCheck, body, "body");
    if (check.kind === "command" && !deps.allowCommandChecks()) {
      throw new ApiError(403, "forbidden", "command checks cannot be created through the API unless the config sets api.allow_api_command_checks: true");
    }
    const problems = checkRules(check, "", false);
    if (problems.length > 0) {
      throw new ApiError(400, "invalid_request", `invalid body: ${problems[0]!.path.replace(/^\./, "")}: ${problems[0]!.message}`, { problems: problems.map((p) => ({ field: p.path.replace(/^\./, ""), message: p.message, ...(p.value !== undefined ? { value: p.value } : {}) })) });
    }
    if (deps.list().some((c) => c.id === check.name)) throw new ApiError(409, "conflict", `a check named ${check.name} already exists`);
    deps.create(check);
    return find(check.name);
  });
  defineRoute(app, P, { method: "delete", path: "/:id", summary: "Delete a check created through the API", response: Schema.Struct({ deleted: Schema.String }) }, (c) => {
    const id = param(c, "id");
    const r = deps.remove(id);
    if (r === "not_found") throw new ApiError(404, "not_found", `no check ${id}`);
    if (r === "not_api") throw new ApiError(409, "conflict", `check ${id} comes from the config file or an app; change it there`);
    return { deleted: id };
  });
  return app;
}

export function healthSummaryRoutes(deps: Pick<CheckRouteDeps, "list">): Hono {
  const app = new Hono();
  defineRoute(app, "/health", { method: "get", path: "/summary", summary: "Counts by status and the checks that are not passing", response: Schema.Struct({ total: Schema.Number, passing: Schema.Number, warning: Schema.Number, critical: Schema.Number, pending: Schema.Number, flapping: Schema.Number, failing: Schema.Array(CheckView) }) }, () => {
    const list = deps.list();
    const count = (s: string | null) => list.filter((c) => c.status === s).length;
    return {
      total: list.length,
      passing: count("passing"),
      warning: count("warning"),
      critical: count("critical"),
      pending: count(null),
      flapping: list.filter((c) => c.flapping).length,
      failing: list.filter((c) => c.status === "warning" || c.status === "critical"),
    };
  });
  return app;
}
