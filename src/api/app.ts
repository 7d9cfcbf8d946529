// The admin API root: one Hono app, auth on /v1, resource modules mounted with route(), one error mapper.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { type Authenticator, requireRole, type TicketStore } from "./auth.ts";
import { RequestError } from "../protocol/port.ts";
import { StoreError } from "../state/store-fault.ts";
import { ApiError, envelope } from "./errors.ts";
import { jsonDepthLimit, MAX_JSON_DEPTH } from "./json-depth.ts";
import { declaredRole } from "./route.ts";
import type { SessionStore } from "./session.ts";

export interface ApiModule {
  /** Mount path under /v1, e.g. "/agent". */
  readonly path: string;
  readonly app: Hono;
}

export interface ApiOptions {
  auth: Authenticator;
  tickets?: TicketStore;
  /** Console sessions: a session cookie (plus its CSRF token on mutations) stands in for the bearer token. */
  sessions?: SessionStore;
  /** The web console, served at /ui without the bearer check (its own routes sign in). */
  ui?: Hono;
  bodyLimitBytes: number;
  /** Unauthenticated probes: liveness and readiness. */
  ready: () => boolean;
  /** Once the workers run: why the agent is still not ready to serve (a balancer that cannot bind), or undefined. */
  notReady?: () => string | undefined;
  /** Facts that do not make the agent unready but an operator should see (a stale cluster catalog). */
  readyDetail?: () => Record<string, unknown> | undefined;
  modules: readonly ApiModule[];
  /** Routes served at the root without auth (e.g. /metrics). */
  open?: readonly ApiModule[];
  onError?: (err: unknown) => void;
  /** Told about every request once answered: `route` is the matched pattern ("unmatched" for a 404 without one). */
  onRequest?: (method: string, route: string, status: number, scheme: "http" | "https", seconds: number) => void;
  scheme?: "http" | "https";
}

/** The pattern of the handler that answered (not a middleware), so metrics carry /v1/apps/:name, never raw paths. */
function answeringRoute(c: { req: { matchedRoutes: ReadonlyArray<{ method: string; path: string }> } }): string {
  const routes = c.req.matchedRoutes;
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i]!;
    if (r.method !== "ALL") return r.path;
  }
  return "unmatched";
}

export function createApi(opts: ApiOptions): Hono {
  const app = new Hono();
  if (opts.onRequest) {
    const onRequest = opts.onRequest;
    const scheme = opts.scheme ?? "http";
    app.use("*", async function measureRequest(c, next) {
      const started = performance.now();
      try {
        await next();
      } finally {
        onRequest(c.req.method, answeringRoute(c), c.res.status, scheme, (performance.now() - started) / 1000);
      }
    });
  }
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    const why = opts.ready() ? opts.notReady?.() : "workers are starting";
    const detail = opts.readyDetail?.();
    return why === undefined ? c.json({ status: "ready", ...(detail ? { detail } : {}) }) : c.json(envelope("not_ready", why), 503);
  });
  for (const m of opts.open ?? []) app.route(m.path, m.app);
  if (opts.ui) app.route("/ui", opts.ui);

  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: opts.bodyLimitBytes,
      onError: (c) => c.json(envelope("payload_too_large", `request body exceeds ${opts.bodyLimitBytes} bytes`), 413),
    }),
  );
  // A CORS preflight carries no credentials, so answering it 401 only hides the real answer. No cross-origin caller
  // is allowed (the console is served from this origin), so the preflight gets the route's methods and no
  // Access-Control-Allow-Origin: the browser then refuses the cross-origin call itself.
  app.options("/v1/*", (c) => {
    const allowed = allowedMethods(c.req.path);
    if (allowed.length === 0) return c.json(envelope("not_found", `no route for ${c.req.path}`), 404);
    return c.body(null, 204, { Allow: [...allowed, "OPTIONS"].join(", "), Vary: "Origin" });
  });
  app.use("/v1/*", requireRole(opts.auth, undefined, opts.tickets, declaredRole, opts.sessions));
  app.use("/v1/*", jsonDepthLimit(MAX_JSON_DEPTH));
  for (const m of opts.modules) app.route(`/v1${m.path}`, m.app);

  /** Methods some route answers on `path` (middleware and preflight handlers aside). */
  const allowedMethods = (path: string): string[] => {
    const allowed = new Set<string>();
    for (const r of app.routes) {
      if (r.method === "ALL" || r.method === "OPTIONS") continue;
      if (routeMatches(r.path, path)) allowed.add(r.method);
    }
    return [...allowed];
  };

  app.notFound((c) => {
    const path = c.req.path;
    const allowed = allowedMethods(path).filter((m) => m !== c.req.method);
    if (allowed.length > 0) {
      c.header("Allow", allowed.join(", "));
      return c.json(envelope("method_not_allowed", `${c.req.method} is not allowed on ${path}`, { allowed }), 405);
    }
    return c.json(envelope("not_found", `no route for ${c.req.method} ${path}`), 404);
  });

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(envelope(err.code, err.message, err.details), err.status, err.headers ? { ...err.headers } : undefined);
    if (err instanceof HTTPException) {
      const status = err.status;
      return c.json(envelope(status === 401 ? "unauthorized" : "http_error", err.message || `HTTP ${status}`), status, status === 401 ? { "WWW-Authenticate": 'Bearer realm="polis"' } : undefined);
    }
    if (err instanceof SyntaxError) return c.json(envelope("bad_request", `malformed JSON body: ${err.message}`), 400);
    if (err instanceof StoreError) {
      // Reported once by the store itself (event and log line): each refused request is not logged again.
      const full = err.reason === "full";
      return c.json(envelope(full ? "insufficient_storage" : "store_unavailable", `${err.message}; nothing was changed`, { reason: err.reason, path: err.path }), full ? 507 : 503);
    }
    if (err instanceof RequestError) {
      // A worker answered with an error, or could not answer (restarting, busy): say which, never a bare 500.
      if (err.code === "not_found") return c.json(envelope("not_found", err.message), 404);
      if (err.code === "invalid") return c.json(envelope("invalid_request", err.message), 400);
      if (err.code === "timeout" || err.code === "closed") return c.json(envelope("unavailable", `a worker did not answer: ${err.message}`), 503);
      if (err.code === "unavailable") return c.json(envelope("unavailable", err.message), 503);
      return c.json(envelope("worker_error", err.message, { code: err.code }), 502);
    }
    opts.onError?.(err);
    return c.json(envelope("internal", "internal error"), 500);
  });
  return app;
}

function routeMatches(pattern: string, path: string): boolean {
  if (pattern === "*" || pattern === "/*") return false;
  const p = pattern.split("/");
  const s = path.split("/");
  if (p[p.length - 1] === "*") return s.length >= p.length - 1 && p.slice(0, -1).every((seg, i) => seg.startsWith(":") || seg === s[i]);
  if (p.length !== s.length) return false;
  return p.every((seg, i) => seg.startsWith(":") || seg === s[i]);
}

export { jsonBody } from "./route.ts";
