// Boots the admin API: token and JWT authenticators in a chain, the resource modules, the open routes
// (/metrics, /openapi.json), and one Bun server (TLS when api.tls is set).
//
//   startApiServer() --> listening --stop()--> stopped     (stop is idempotent)
import { Hono } from "hono";
import { websocket } from "hono/bun";
import { type ApiModule, createApi } from "../api/app.ts";
import { type Authenticator, chainAuthenticators, createTokenAuthenticator, type TicketStore, type TokenEntry } from "../api/auth.ts";
import { openApiRoutes } from "../api/openapi.ts";
import type { Config } from "../config/schema.ts";
import { splitListen } from "../config/units.ts";
import type { Logger } from "../telemetry/logger.ts";

export interface ApiServerDeps {
  readonly api: Config["api"];
  readonly prometheus: boolean;
  /** Told about every request once answered, for the admin API metrics. */
  onRequest?(method: string, route: string, status: number, scheme: "http" | "https", seconds: number): void;
  /** Read at every request, so tokens from a reloaded config apply at once. */
  tokens(): TokenEntry[];
  readonly jwt: Authenticator;
  readonly tickets: TicketStore;
  ready(): boolean;
  notReady?(): string | undefined;
  readonly modules: readonly ApiModule[];
  prometheusText(): Promise<string>;
  readonly log: Logger;
}

export interface ApiServer {
  /** Base URL without a trailing slash. */
  readonly url: string;
  stop(): void;
}

export function startApiServer(deps: ApiServerDeps): ApiServer {
  const { hostname, port } = splitListen(deps.api.listen);
  const metrics = new Hono();
  metrics.get("/", async (c) => c.text(await deps.prometheusText(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
  const app = createApi({
    auth: chainAuthenticators([createTokenAuthenticator(deps.tokens), deps.jwt]),
    tickets: deps.tickets,
    bodyLimitBytes: deps.api.body_limit,
    ready: deps.ready,
    ...(deps.notReady ? { notReady: deps.notReady } : {}),
    modules: deps.modules,
    open: [...(deps.prometheus ? [{ path: "/metrics", app: metrics }] : []), { path: "/openapi.json", app: openApiRoutes() }],
    onError: (err) => deps.log.error("api handler failed", { error: err }),
    ...(deps.onRequest ? { onRequest: deps.onRequest } : {}),
    scheme: deps.api.tls ? "https" : "http",
  });
  const server = Bun.serve({
    hostname,
    port,
    fetch: app.fetch,
    websocket,
    ...(deps.api.tls ? { tls: { cert: Bun.file(deps.api.tls.cert_file), key: Bun.file(deps.api.tls.key_file) } } : {}),
  });
  deps.log.info("admin API listening", { url: server.url.href });
  let stopped = false;
  return {
    url: server.url.href.replace(/\/$/, ""),
    stop() {
      if (stopped) return;
      stopped = true;
      void server.stop(true);
    },
  };
}
