// Declares a route once: its schemas validate the request and the response and feed the OpenAPI document.
import { Cause, Exit, Schema, SchemaIssue } from "effect";
import type { Context, Hono } from "hono";
import { jsonBody } from "./app.ts";
import { ApiError } from "./errors.ts";

type Method = "get" | "post" | "put" | "patch" | "delete";

export interface RouteSpec<B extends Schema.Top | undefined, Q extends Schema.Top | undefined> {
  method: Method;
  /** Hono path relative to the module, e.g. "/:name/scale". */
  path: string;
  summary: string;
  body?: B;
  query?: Q;
  /** Response schema for the success status. */
  response: Schema.Top;
  status?: 200 | 201 | 202;
  /** Role needed (default: read for GET, operator otherwise). */
  role?: "read" | "operator" | "admin";
}

export interface RegisteredRoute {
  method: Method;
  path: string;
  summary: string;
  body?: Schema.Top;
  query?: Schema.Top;
  response: Schema.Top;
  status: number;
  role: string;
}

/** Every route declared through `defineRoute`, keyed by full path, for /openapi.json. */
export const registry: RegisteredRoute[] = [];

const formatter = SchemaIssue.makeFormatterStandardSchemaV1();

/** Turns a schema failure into a 400/422 whose details name every field. */
export function validationError(where: "body" | "query", issue: SchemaIssue.Issue, input: unknown): ApiError {
  const problems = formatter(issue).issues.map((i) => {
    const path = (i.path ?? []).map((p) => (typeof p === "object" && p !== null ? (p as { key: PropertyKey }).key : p));
    const field = path.map(String).join(".") || "(root)";
    let value: unknown = input;
    for (const k of path) value = value && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
    const message = i.message === "Expected no excess property" ? `unknown field "${String(path[path.length - 1])}"` : i.message === "Missing key" ? "required field is missing" : i.message;
    return { field, message, ...(value !== undefined && !message.startsWith("unknown") ? { value } : {}) };
  });
  const first = problems[0];
  return new ApiError(400, "invalid_request", `invalid ${where}: ${first ? `${first.field}: ${first.message}` : "does not match the schema"}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ""}`, { problems });
}

export function decodeOrThrow<S extends Schema.Top>(schema: S, input: unknown, where: "body" | "query"): S["Type"] {
  const exit = Schema.decodeUnknownExit(schema as never, { errors: "all", onExcessProperty: "error" })(input) as Exit.Exit<S["Type"], { issue: SchemaIssue.Issue }>;
  if (Exit.isSuccess(exit)) return exit.value;
  const err = Cause.squash(exit.cause) as { issue?: SchemaIssue.Issue };
  if (err?.issue) throw validationError(where, err.issue, input);
  throw new ApiError(400, "invalid_request", `invalid ${where}`);
}

type Infer<S> = S extends Schema.Top ? S["Type"] : undefined;

/**
 * Registers `spec` on `app` under the module's mount `prefix` (for the OpenAPI path).
 * The handler gets the decoded body and query; what it returns is checked against `response`.
 */
export function defineRoute<B extends Schema.Top | undefined = undefined, Q extends Schema.Top | undefined = undefined>(
  app: Hono,
  prefix: string,
  spec: RouteSpec<B, Q>,
  handler: (c: Context, input: { body: Infer<B>; query: Infer<Q> }) => Promise<unknown> | unknown,
): void {
  const status = spec.status ?? 200;
  registry.push({
    method: spec.method,
    path: `/v1${prefix}${spec.path === "/" ? "" : spec.path}`,
    summary: spec.summary,
    ...(spec.body ? { body: spec.body } : {}),
    ...(spec.query ? { query: spec.query } : {}),
    response: spec.response,
    status,
    role: spec.role ?? (spec.method === "get" ? "read" : "operator"),
  });
  const encodeResponse = Schema.encodeUnknownExit(spec.response as never, { errors: "all", onExcessProperty: "error" });
  app.on(spec.method.toUpperCase(), spec.path, async function routeHandler(c) {
    const body = spec.body ? decodeOrThrow(spec.body, await jsonBody(c), "body") : undefined;
    const query = spec.query ? decodeOrThrow(spec.query, c.req.query(), "query") : undefined;
    const result = await handler(c, { body: body as Infer<B>, query: query as Infer<Q> });
    if (result instanceof Response) return result;
    const encoded = encodeResponse(result);
    if (Exit.isFailure(encoded)) {
      // A response that breaks its own schema is our bug: say so instead of sending it.
      throw new Error(`response of ${spec.method.toUpperCase()} ${spec.path} does not match its schema: ${String(Cause.squash(encoded.cause))}`);
    }
    return c.json(encoded.value as object, status);
  });
}

/** A path parameter (always present when the route matched). */
export function param(c: Context, name: string): string {
  const v = c.req.param(name) as string | undefined;
  if (v === undefined) throw new ApiError(400, "invalid_request", `missing path parameter ${name}`);
  return v;
}
