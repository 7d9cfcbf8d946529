// /v1/config: the running config with secrets redacted, and PATCH (JSON merge patch) applied atomically through the
// same path as a SIGHUP reload: validated whole, then applied, or rejected with every problem and nothing changed.
import { Schema } from "effect";
import { Hono } from "hono";
import type { ConfigProblem } from "../config/load.ts";
import { Config } from "../config/schema.ts";
import { jsonBody } from "./app.ts";
import { ApiError } from "./errors.ts";
import { registry } from "./route.ts";

const SECRET_FIELDS = new Set(["token", "secret", "headers", "password"]);

/** A deep copy with every secret-bearing field replaced. */
export function redactConfig(value: unknown, key = ""): unknown {
  if (SECRET_FIELDS.has(key) && value !== undefined) {
    if (key === "headers" && value && typeof value === "object") return Object.fromEntries(Object.keys(value).map((k) => [k, "[redacted]"]));
    return "[redacted]";
  }
  if (Array.isArray(value)) return value.map((v) => redactConfig(v));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v, k)]));
  return value;
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export type ApplyResult = { ok: true; reloaded: string[] } | { ok: false; status: 400 | 403 | 409; problems: readonly ConfigProblem[]; message: string };

/** A rejected config as the error envelope: the status says why, details.problems says where. */
export function applyError(result: Extract<ApplyResult, { ok: false }>): ApiError {
  const code = result.status === 409 ? "restart_required" : result.status === 403 ? "forbidden" : "invalid_config";
  return new ApiError(result.status, code, result.message, { problems: result.problems });
}

const Reloaded = Schema.Struct({ reloaded: Schema.Array(Schema.String) });

/** GET /v1/config: the decoded config (durations in ms, sizes in bytes); secret-bearing fields read "[redacted]". */
const ConfigView = Schema.Struct({
  source: Schema.NullOr(Schema.String).annotate({ description: "The config file the agent runs (null when started without one)" }),
  config: Schema.toType(Config).annotate({ description: 'Every section with defaults applied; token, secret, password and header values are the string "[redacted]"' }),
});

export interface ReloadRouteDeps {
  /** Re-read the config file and apply it, exactly as SIGHUP does. */
  reload: () => Promise<ApplyResult>;
}

/** POST /v1/reload: SIGHUP over the API, answering what changed or the problems. */
export function reloadRoutes(deps: ReloadRouteDeps): Hono {
  const app = new Hono();
  registry.push({
    method: "post",
    path: "/v1/reload",
    summary: "Re-read the config file and apply it (as SIGHUP does): the sections reloaded, or the config error with every problem",
    response: Reloaded,
    status: 200,
    role: "admin",
    errors: [409],
  });
  app.post("/", async (c) => {
    const principal = c.get("principal" as never) as { role: string } | undefined;
    if (principal && principal.role !== "admin") throw new ApiError(403, "forbidden", "reloading the config needs the admin role");
    // The file is the only input: a body is a mistake (perhaps meant for PATCH /v1/config), not something to ignore.
    if ((await c.req.text()).trim() !== "") throw new ApiError(400, "invalid_request", "POST /v1/reload takes no body; it re-reads the config file (to change settings, PATCH /v1/config)");
    const result = await deps.reload();
    if (!result.ok) throw applyError(result);
    return c.json({ reloaded: result.reloaded });
  });
  return app;
}

export interface ConfigRouteDeps {
  current: () => { config: Config; raw: unknown; source: string | undefined };
  /** Validate and apply a whole raw document; must leave everything unchanged when it fails. */
  apply: (raw: unknown, origin: "api") => Promise<ApplyResult>;
}

export function configRoutes(deps: ConfigRouteDeps): Hono {
  const app = new Hono();
  registry.push(
    { method: "get", path: "/v1/config", summary: "The running config (defaults applied, secrets redacted)", response: ConfigView, status: 200, role: "read" },
    { method: "patch", path: "/v1/config", summary: "Apply a JSON merge patch to the running config, atomically", body: Schema.Record(Schema.String, Schema.Unknown), response: Schema.Struct({ reloaded: Schema.Array(Schema.String), persisted: Schema.Boolean }), status: 200, role: "admin", errors: [409] },
  );
  app.get("/", (c) => {
    const cur = deps.current();
    return c.json({ source: cur.source ?? null, config: redactConfig(cur.config) });
  });
  app.patch("/", async (c) => {
    const principal = c.get("principal" as never) as { role: string } | undefined;
    if (principal && principal.role !== "admin") throw new ApiError(403, "forbidden", "changing the config needs the admin role");
    const patch = await jsonBody(c);
    if (!patch || typeof patch !== "object" || Array.isArray(patch)) throw new ApiError(400, "invalid_request", "expected a JSON object (a merge patch)");
    const next = mergePatch(deps.current().raw, patch);
    const result = await deps.apply(next, "api");
    if (!result.ok) throw applyError(result);
    return c.json({ reloaded: result.reloaded, persisted: false });
  });
  return app;
}
