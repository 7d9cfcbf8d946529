// Declares a route once: its schemas validate the request and the response and feed the OpenAPI document.
import { Cause, Exit, Schema, SchemaIssue, SchemaTransformation } from "effect";
import type { Context, Hono } from "hono";
import type { Role } from "./auth.ts";
import { ApiError } from "./errors.ts";

type Method = "get" | "post" | "put" | "patch" | "delete";
/** Error statuses a route may answer besides the ones every route of its shape can (400, 401, 403, 404, 413). */
export type ErrorStatus = 409 | 422 | 502 | 503;

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
  /** Role needed (default: read for GET, operator otherwise); the auth middleware enforces it. */
  role?: Role;
  /** Error statuses this route answers on purpose beyond the common ones, for the spec. */
  errors?: readonly ErrorStatus[];
}

export interface RegisteredRoute {
  method: Method;
  path: string;
  summary: string;
  body?: Schema.Top;
  query?: Schema.Top;
  /** JSON answer on success; absent for a route that only streams. */
  response?: Schema.Top;
  /** The route (also) answers Server-Sent Events (chosen by Accept: text/event-stream, or always without `response`). */
  sse?: { readonly data: Schema.Top; readonly events: string };
  /** The route upgrades to a WebSocket that sends `sse.data` as JSON text messages. */
  websocket?: boolean;
  status: number;
  role: Role;
  errors?: readonly ErrorStatus[];
}

/** Every route declared through `defineRoute` (or pushed by a module that streams), for /openapi.json and role checks. */
export const registry: RegisteredRoute[] = [];

interface CompiledRole {
  readonly method: string;
  readonly segments: readonly string[];
  readonly role: Role;
}
let compiled: CompiledRole[] = [];
let compiledFrom = -1;

/**
 * The role a declared route needs, or undefined for a route nobody declared. Matching is by segments, with ":x"
 * matching any one segment; when a path matches several declarations (a literal and a parameter), the literal wins.
 */
export function declaredRole(method: string, path: string): Role | undefined {
  if (compiledFrom !== registry.length) {
    compiled = registry.map((r) => ({ method: r.method.toUpperCase(), segments: r.path.split("/"), role: r.role }));
    compiledFrom = registry.length;
  }
  const m = method === "HEAD" ? "GET" : method;
  const segs = path.replace(/\/+$/, "").split("/");
  let best: CompiledRole | undefined;
  let bestParams = Infinity;
  for (const r of compiled) {
    if (r.method !== m || r.segments.length !== segs.length) continue;
    let params = 0;
    let ok = true;
    for (let i = 0; i < segs.length && ok; i++) {
      const p = r.segments[i]!;
      if (p.startsWith(":")) params++;
      else ok = p === segs[i];
    }
    if (ok && params < bestParams) {
      best = r;
      bestParams = params;
    }
  }
  return best?.role;
}

/**
 * A whole number in a query string: digits only (no sign, exponent or blanks), decoded to an integer within
 * [min, max]. The spec shows it as an integer because the decoded side is what the route works with.
 */
export function QueryInt(min: number, max: number) {
  return Schema.String.check(Schema.isPattern(/^\d{1,16}$/, { message: `Expected a whole number from ${min} to ${max}` })).pipe(
    Schema.decodeTo(Schema.Int.check(Schema.isBetween({ minimum: min, maximum: max })), SchemaTransformation.numberFromString),
  );
}

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
    ...(spec.errors ? { errors: spec.errors } : {}),
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

/** Parse a JSON body, turning malformed JSON into a 400 that says so. */
export async function jsonBody(c: { req: { text(): Promise<string> } }): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") throw new ApiError(400, "bad_request", "expected a JSON body");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, "bad_request", `malformed JSON body: ${(e as Error).message}`);
  }
}
