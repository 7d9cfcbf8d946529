// /v1/config: the running config with secrets redacted and the overlay's part named; PATCH (a merge patch, named list
// entries merged by name) applied atomically through the same path as a SIGHUP reload and kept in the overlay;
// DELETE /v1/config/overlay back to the file; POST /v1/reload re-reads the file. A rejected change changes nothing.
import { Schema } from "effect";
import { type Context, Hono } from "hono";
import { overlayPaths } from "../config/overlay.ts";
import { bearerOf, subprotocolToken } from "./auth.ts";
import type { ConfigProblem } from "../config/load.ts";
import { Config } from "../config/schema.ts";
import { redactEnv } from "../config/tasks.ts";
import { jsonBody } from "./app.ts";
import { ApiError } from "./errors.ts";
import { registry } from "./route.ts";

const REDACTED = "[redacted]";
const SECRET_FIELDS = new Set(["token", "secret", "hmac_secret", "headers", "password"]);

/** A deep copy with every secret-bearing field replaced (env maps: the values whose names look secret, as tasks show them). */
export function redactConfig(value: unknown, key = ""): unknown {
  if (key === "env" && value && typeof value === "object" && !Array.isArray(value)) return redactEnv(value as Record<string, string>);
  if (SECRET_FIELDS.has(key) && value !== undefined) {
    if (key === "headers" && value && typeof value === "object") return Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED]));
    return REDACTED;
  }
  if (Array.isArray(value)) return value.map((v) => redactConfig(v));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v, k)]));
  return value;
}

/**
 * Where a patch carries the placeholder GET /v1/config shows for a secret. A GET-then-PATCH round trip would
 * otherwise store "[redacted]" as the token, password or env value, so such a patch is refused whole.
 */
export function redactedPlaceholders(value: unknown, path = ""): ConfigProblem[] {
  if (value === REDACTED) return [{ path: path || "(root)", message: "is the placeholder GET /v1/config shows for a secret: send the real value, or leave the field out to keep it", value: JSON.stringify(REDACTED) }];
  if (Array.isArray(value)) return value.flatMap((v, i) => redactedPlaceholders(v, `${path}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => redactedPlaceholders(v, path ? `${path}.${k}` : k));
  return [];
}

export type ApplyResult = { ok: true; reloaded: string[] } | { ok: false; status: 400 | 403 | 409 | 503; problems: readonly ConfigProblem[]; message: string };

/** A rejected config as the error envelope: the status says why, details.problems says where. */
export function applyError(result: Extract<ApplyResult, { ok: false }>): ApiError {
  const code = result.status === 409 ? "restart_required" : result.status === 403 ? "forbidden" : result.status === 503 ? "unavailable" : "invalid_config";
  return new ApiError(result.status, code, result.message, { problems: result.problems });
}

const Reloaded = Schema.Struct({ reloaded: Schema.Array(Schema.String) });

/** GET /v1/config: the decoded config (durations in ms, sizes in bytes); secret-bearing fields read "[redacted]". */
const ConfigView = Schema.Struct({
  source: Schema.NullOr(Schema.String).annotate({ description: "The config file the agent runs (null when started without one)" }),
  config: Schema.toType(Config).annotate({ description: 'Every section with defaults applied; token, secret, hmac_secret, password and header values, and env values whose names look secret, are the string "[redacted]"' }),
  overlay: Schema.Struct({
    file: Schema.NullOr(Schema.String).annotate({ description: "Where accepted PATCHes are kept (<data_dir>/config-overlay.json)" }),
    paths: Schema.Array(Schema.String).annotate({ description: 'Settings whose running value comes from the overlay, e.g. "apps[0].replicas"' }),
    patch: Schema.Unknown.annotate({ description: "The overlay's composed merge patch (secrets redacted), or null" }),
  }),
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

export interface ConfigCaller {
  readonly name: string;
  readonly role: string;
  readonly credential?: string;
}

export interface ConfigRouteDeps {
  current: () => { config: Config; raw: unknown; base?: unknown; overlay?: unknown; overlayFile?: string; source: string | undefined };
  /** Merge a patch over the running document, validate whole and apply (persisting it in the overlay), or change nothing. */
  patch: (patch: unknown, caller: ConfigCaller | undefined) => Promise<ApplyResult>;
  /** Drop the overlay and go back to the file alone, or change nothing. */
  dropOverlay: (caller: ConfigCaller | undefined) => Promise<ApplyResult & { removed?: boolean }>;
}

const callerOf = (c: Context): ConfigCaller | undefined => {
  const p = c.get("principal" as never) as { name: string; role: string } | undefined;
  if (!p) return undefined;
  const credential = bearerOf(c.req.header("authorization")) ?? subprotocolToken(c.req.header("sec-websocket-protocol"));
  return { name: p.name, role: p.role, ...(credential ? { credential } : {}) };
};

export function configRoutes(deps: ConfigRouteDeps): Hono {
  const app = new Hono();
  registry.push(
    { method: "get", path: "/v1/config", summary: "The running config (defaults applied, secrets redacted), and which values come from the overlay", response: ConfigView, status: 200, role: "read" },
    {
      method: "patch",
      path: "/v1/config",
      summary: "Apply a merge patch to the running config, atomically, and keep it in the overlay (lists of named entries merge by name)",
      body: Schema.Record(Schema.String, Schema.Unknown),
      response: Schema.Struct({ reloaded: Schema.Array(Schema.String), persisted: Schema.Boolean }),
      status: 200,
      role: "admin",
      errors: [409, 503],
    },
    {
      method: "delete",
      path: "/v1/config/overlay",
      summary: "Drop the overlay: the running config goes back to the file alone",
      response: Schema.Struct({ reloaded: Schema.Array(Schema.String), removed: Schema.Literal(true) }),
      status: 200,
      role: "admin",
      errors: [409, 503],
    },
  );
  app.get("/", (c) => {
    const cur = deps.current();
    const paths = cur.overlay === undefined ? [] : overlayPaths(cur.base ?? cur.raw, cur.raw);
    return c.json({
      source: cur.source ?? null,
      config: redactConfig(cur.config),
      overlay: { file: cur.overlayFile ?? null, paths, patch: cur.overlay === undefined ? null : redactConfig(cur.overlay) },
    });
  });
  const admin = (c: Context, what: string) => {
    const principal = c.get("principal" as never) as { role: string } | undefined;
    if (principal && principal.role !== "admin") throw new ApiError(403, "forbidden", `${what} needs the admin role`);
  };
  app.patch("/", async (c) => {
    admin(c, "changing the config");
    const patch = await jsonBody(c);
    if (!patch || typeof patch !== "object" || Array.isArray(patch)) throw new ApiError(400, "invalid_request", "expected a JSON object (a merge patch)");
    const placeholders = redactedPlaceholders(patch);
    if (placeholders.length > 0) throw new ApiError(400, "invalid_config", `the patch carries the "[redacted]" placeholder at ${placeholders.map((p) => p.path).join(", ")}: nothing was changed`, { problems: placeholders });
    const result = await deps.patch(patch, callerOf(c));
    if (!result.ok) throw applyError(result);
    return c.json({ reloaded: result.reloaded, persisted: deps.current().overlayFile !== undefined });
  });
  app.delete("/overlay", async (c) => {
    admin(c, "dropping the config overlay");
    if ((await c.req.text()).trim() !== "") throw new ApiError(400, "invalid_request", "DELETE /v1/config/overlay takes no body");
    const result = await deps.dropOverlay(callerOf(c));
    if (!result.ok) throw applyError(result);
    if (!result.removed) throw new ApiError(404, "not_found", "there is no config overlay: the running config is the file's");
    return c.json({ reloaded: result.reloaded, removed: true });
  });
  return app;
}
