// Boots the admin API: token and JWT authenticators in a chain, the resource modules, the open routes
// (/metrics, /openapi.json), and one Bun server (TLS when api.tls is set).
//
//   startApiServer() --> listening --stop()--> stopped     (stop is idempotent)
import { Hono } from "hono";
import { websocket } from "hono/bun";
import { type ApiModule, createApi } from "../api/app.ts";
import { type Authenticator, chainAuthenticators, createTokenAuthenticator, type TicketStore, type TokenEntry } from "../api/auth.ts";
import { openApiRoutes } from "../api/openapi.ts";
import { createSessionStore } from "../api/session.ts";
import { loadUiAssets, uiRoutes } from "../api/ui.ts";
import { buildOpenApi } from "../api/openapi.ts";
import { type GrpcServer, startGrpcServer } from "../api/grpc/server.ts";
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
  readyDetail?(): Record<string, unknown> | undefined;
  readonly modules: readonly ApiModule[];
  prometheusText(): Promise<string>;
  readonly log: Logger;
}

export interface ApiServer {
  /** Base URL without a trailing slash. */
  readonly url: string;
  /** Settles once the gRPC listener (api.grpc) is bound, with its address; rejects when it cannot bind. */
  readonly grpc: Promise<string | undefined>;
  stop(): void;
}

export function startApiServer(deps: ApiServerDeps): ApiServer {
  const { hostname, port } = splitListen(deps.api.listen);
  const metrics = new Hono();
  metrics.get("/", async (c) => c.text(await deps.prometheusText(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
  const auth = chainAuthenticators([createTokenAuthenticator(deps.tokens), deps.jwt]);
  const sessions = createSessionStore();
  const app = createApi({
    auth,
    tickets: deps.tickets,
    sessions,
    ui: uiRoutes({ auth, sessions, tickets: deps.tickets, assets: loadUiAssets, secure: deps.api.tls !== undefined }),
    bodyLimitBytes: deps.api.body_limit,
    ready: deps.ready,
    ...(deps.notReady ? { notReady: deps.notReady } : {}),
    ...(deps.readyDetail ? { readyDetail: deps.readyDetail } : {}),
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
  let grpcServer: GrpcServer | undefined;
  const grpcConfig = deps.api.grpc;
  const grpc = grpcConfig
    ? startGrpcServer({
        fetch: app.fetch,
        openapi: buildOpenApi(),
        listen: grpcConfig.listen,
        ...(deps.api.tls ? { tls: deps.api.tls } : {}),
        maxMessageBytes: deps.api.body_limit,
        ready: () => deps.ready() && deps.notReady?.() === undefined,
      }).then((g) => {
        grpcServer = g;
        if (stopped) void g.stop();
        else deps.log.info("admin gRPC API listening", { address: g.address, tls: deps.api.tls !== undefined });
        return g.address;
      })
    : Promise.resolve(undefined);
  // A caller that never awaits still must not see an unhandled rejection; the supervisor awaits and reports it.
  grpc.catch(() => {});
  return {
    url: server.url.href.replace(/\/$/, ""),
    grpc,
    stop() {
      if (stopped) return;
      stopped = true;
      void server.stop(true);
      void grpcServer?.stop();
    },
  };
}
