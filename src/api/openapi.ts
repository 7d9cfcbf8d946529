// GET /openapi.json: an OpenAPI 3.1 document generated from the same schemas that validate every route.
import { Schema } from "effect";
import { Hono } from "hono";
import { VERSION } from "../version.ts";
import { type RegisteredRoute, registry } from "./route.ts";

const ErrorEnvelope = Schema.Struct({
  code: Schema.String.annotate({ description: "Machine-readable error code, e.g. invalid_request, not_found, forbidden" }),
  message: Schema.String.annotate({ description: "What went wrong, naming the field and value" }),
  details: Schema.optionalKey(Schema.Unknown),
});

/** The non-finite spellings Effect's JSON codec allows for a number; JSON bodies here never carry them. */
const NON_FINITE = ["Infinity", "-Infinity", "NaN"];

/**
 * Rewrites what the generator emits into what the server does:
 * - a number is a plain JSON number: the server parses bodies with JSON.parse and decodes them with the type
 *   schema, so the strings "Infinity"/"NaN" that the JSON codec would accept are refused, and responses are
 *   written by JSON.stringify, which has no such strings either;
 * - an anyOf with an empty branch accepts anything, so it is the empty schema (it would fail the linter's
 *   no-illogical-composition-keywords for saying nothing).
 */
export function normalizeSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalizeSchema);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = normalizeSchema(v);
  const anyOf = out.anyOf as Record<string, unknown>[] | undefined;
  if (Array.isArray(anyOf)) {
    const kept = anyOf.filter((b) => !(b.type === "string" && Array.isArray(b.enum) && b.enum.length === 3 && NON_FINITE.every((x) => (b.enum as unknown[]).includes(x))));
    const { anyOf: _drop, ...rest } = out;
    if (kept.some((b) => Object.keys(b).length === 0)) return rest;
    if (kept.length === 1) return { ...rest, ...kept[0] };
    if (kept.length !== anyOf.length) return { ...rest, anyOf: kept };
  }
  return out;
}

/** A self-contained JSON Schema of what a client sends or gets; objects are closed wherever the server rejects extra fields. */
function jsonSchema(schema: Schema.Top): Record<string, unknown> {
  const doc = Schema.toJsonSchemaDocument(schema as never, { onExcessProperty: "error" }) as { schema: Record<string, unknown>; definitions?: Record<string, unknown> };
  // Inline definitions under components would need ref rewriting; keeping each schema self-contained is simpler.
  const s = doc.definitions && Object.keys(doc.definitions).length > 0 ? { ...doc.schema, $defs: doc.definitions } : doc.schema;
  return normalizeSchema(s) as Record<string, unknown>;
}

const json = (schema: unknown) => ({ "application/json": { schema } });
const ref = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** "post /v1/apps/:name/replicas/:id/restart" -> "postAppsByNameReplicasByIdRestart": unique, stable, readable. */
export function operationId(method: string, path: string): string {
  const words = path
    .split("/")
    .filter((s) => s !== "" && s !== "v1")
    .map((s) => (s.startsWith(":") ? `By_${s.slice(1)}` : s))
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

function errorResponses(r: RegisteredRoute, hasParams: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (r.body || r.query || hasParams) out["400"] = ref("BadRequest");
  out["401"] = ref("Unauthorized");
  if (r.role !== "read") out["403"] = ref("Forbidden");
  if (hasParams) out["404"] = ref("NotFound");
  if (r.body) out["413"] = ref("PayloadTooLarge");
  for (const status of r.errors ?? []) out[String(status)] = ref(`E${status}`);
  out.default = ref("Error");
  return out;
}

function successContent(r: RegisteredRoute): Record<string, unknown> {
  const content: Record<string, unknown> = r.response ? json(jsonSchema(r.response)) : {};
  if (r.sse) {
    content["text/event-stream"] = {
      schema: { type: "string", description: `Server-Sent Events. Events: ${r.sse.events}. Each data line is one JSON value of x-polis-event-data.` },
      "x-polis-event-data": jsonSchema(r.sse.data),
    };
  }
  return content;
}

function operation(r: RegisteredRoute): Record<string, unknown> {
  const pathParams = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
  const params: Record<string, unknown>[] = [...pathParams];
  if (r.query) {
    // The type side: a query value arrives as text, but what it must spell (an integer, one of some words) is the decoded type.
    const q = jsonSchema(Schema.toType(r.query as never) as Schema.Top) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      const { description, ...rest } = schema;
      params.push({ name, in: "query", required: (q.required ?? []).includes(name), ...(description ? { description } : {}), schema: rest });
    }
  }
  const responses: Record<string, unknown> = {
    [String(r.status)]: { description: r.sse && !r.response ? "the stream" : "success", content: successContent(r) },
  };
  if (r.websocket) {
    responses["101"] = {
      description:
        "WebSocket upgrade (send Upgrade: websocket). Offer the subprotocol polis.events.v1 and, from a browser, the token as the subprotocol bearer.<token>; or pass ?ticket=. Each text message is one JSON value of x-polis-event-data.",
      "x-polis-event-data": r.sse ? jsonSchema(r.sse.data) : {},
    };
  }
  Object.assign(responses, errorResponses(r, pathParams.length > 0));
  return {
    operationId: operationId(r.method, r.path),
    summary: r.summary,
    tags: [r.path.split("/")[2] ?? "agent"],
    "x-polis-role": r.role,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(r.body ? { requestBody: { required: true, content: json(jsonSchema(r.body)) } } : {}),
    responses,
  };
}

/** Routes served at the root without a token (created in app.ts and by the supervisor, not through defineRoute). */
function openPaths(): Record<string, Record<string, unknown>> {
  const status = (value: string) => json({ type: "object", properties: { status: { const: value } }, required: ["status"], additionalProperties: false });
  const op = (id: string, summary: string, responses: Record<string, unknown>) => ({ get: { operationId: id, summary, tags: ["probes"], security: [], responses } });
  return {
    "/healthz": op("getHealthz", "Liveness: the agent's main thread answers", { "200": { description: "alive", content: status("ok") } }),
    "/readyz": op("getReadyz", "Readiness: every worker is running and every balancer listening", {
      "200": { description: "ready", content: status("ready") },
      "503": { description: "workers are starting or restarting, or a balancer cannot bind its address (the message says which, and why)", content: json({ $ref: "#/components/schemas/Error" }) },
    }),
    "/metrics": op("getMetrics", "Prometheus text exposition (format 0.0.4) of every metric; present while telemetry.prometheus is on", {
      "200": { description: "the exposition", content: { "text/plain": { schema: { type: "string" } } } },
    }),
    "/openapi.json": op("getOpenApi", "This document", { "200": { description: "the OpenAPI document", content: json({ type: "object" }) } }),
  };
}

function errorResponse(description: string, headers?: Record<string, unknown>) {
  return { description, ...(headers ? { headers } : {}), content: json({ $ref: "#/components/schemas/Error" }) };
}

const ERROR_RESPONSES: Record<string, unknown> = {
  BadRequest: errorResponse("the body, query or a path parameter is invalid; details.problems lists every field"),
  Unauthorized: errorResponse("no token, or the token is not valid", {
    "WWW-Authenticate": { description: 'Bearer realm="polis", with error="invalid_token" when a token was refused', schema: { type: "string" } },
  }),
  Forbidden: errorResponse("the token's role is below the one this route needs (x-polis-role)"),
  NotFound: errorResponse("no such resource"),
  PayloadTooLarge: errorResponse("the body is larger than api.body_limit"),
  E409: errorResponse("the request conflicts with the current state"),
  E422: errorResponse("the request is well-formed but out of range"),
  E502: errorResponse("a worker answered with an error"),
  E503: errorResponse("a worker is starting or restarting"),
  Error: errorResponse("any other error"),
};

export function buildOpenApi(routes: readonly RegisteredRoute[] = registry): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = openPaths();
  // A module built twice in one process (tests) registers its routes twice; the last declaration wins.
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    paths[path] ??= {};
    paths[path]![r.method] = operation(r);
  }
  const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const referenced = JSON.stringify(sorted);
  const responses = Object.fromEntries(Object.entries(ERROR_RESPONSES).filter(([name]) => referenced.includes(`"#/components/responses/${name}"`)));
  return {
    openapi: "3.1.0",
    info: {
      title: "Polis admin API",
      version: VERSION,
      description:
        "The agent's admin API. Every /v1 route needs Authorization: Bearer <token>; the role each operation needs is in x-polis-role (read < operator < admin). Errors are JSON {code, message, details}.",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    servers: [{ url: "http://127.0.0.1:9090", description: "the default api.listen; every agent serves this document at its own address" }],
    security: [{ bearer: [] }],
    paths: sorted,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A token from api.tokens (or <data_dir>/admin.token), or a JWT when api.jwt is set" } },
      schemas: { Error: jsonSchema(ErrorEnvelope) },
      responses,
    },
  };
}

export function openApiRoutes(): Hono {
  const app = new Hono();
  let cached: Record<string, unknown> | undefined;
  app.get("/", (c) => c.json((cached ??= buildOpenApi())));
  return app;
}
