// /v1/services: the service catalog: list, get, register (persisted), deregister, resolve with label selectors.
import { Schema } from "effect";
import { Hono } from "hono";
import { type Catalog, type CatalogService, type LabelSelector, parseSelector } from "../state/catalog.ts";
import { ApiError } from "./errors.ts";
import { defineRoute } from "./route.ts";

const Name = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { message: "Expected a name of letters, digits, '.', '_' or '-'" }));
const StringMap = Schema.Record(Schema.String, Schema.String);
const Health = Schema.Literals(["passing", "warning", "critical"]);
const Protocol = Schema.Literals(["http", "https", "tcp", "udp", "grpc"]);
const PortNumber = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 }));

export const EndpointBody = Schema.Struct({
  id: Schema.optionalKey(Name),
  address: Schema.String.check(Schema.isMinLength(1)),
  port: PortNumber,
  protocol: Schema.optionalKey(Protocol),
  weight: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 }))),
  metadata: Schema.optionalKey(StringMap),
  health: Schema.optionalKey(Health),
});

export const ServiceBody = Schema.Struct({
  version: Schema.optionalKey(Schema.String),
  labels: Schema.optionalKey(StringMap),
  annotations: Schema.optionalKey(StringMap),
  endpoints: Schema.Array(EndpointBody).check(Schema.isMaxLength(10_000)),
});
export type ServiceBody = typeof ServiceBody.Type;

const EndpointView = Schema.Struct({
  id: Schema.String,
  address: Schema.String,
  port: Schema.Number,
  protocol: Protocol,
  weight: Schema.Number,
  metadata: StringMap,
  health: Health,
  healthSince: Schema.Number,
  output: Schema.optionalKey(Schema.String),
  draining: Schema.Boolean,
  node: Schema.optionalKey(Schema.String).annotate({ description: "The cluster node that owns this endpoint (absent: this node)" }),
  zone: Schema.optionalKey(Schema.String),
});
export const ServiceView = Schema.Struct({
  name: Schema.String,
  namespace: Schema.String,
  version: Schema.optionalKey(Schema.String),
  labels: StringMap,
  annotations: StringMap,
  source: Schema.Literals(["app", "config", "api", "cluster"]).annotate({ description: "cluster: known only from other nodes" }),
  endpoints: Schema.Array(EndpointView),
});

const ListQuery = Schema.Struct({ namespace: Schema.optionalKey(Name), selector: Schema.optionalKey(Schema.String) });
const ResolveQuery = Schema.Struct({
  selector: Schema.optionalKey(Schema.String),
  all: Schema.optionalKey(Schema.Literals(["true", "false"])),
  only_passing: Schema.optionalKey(Schema.Literals(["true", "false"])),
});

export interface ServiceRouteDeps {
  catalog: Catalog;
  /** Persist or forget an API registration (survives agent restarts). */
  persist: (namespace: string, name: string, body: ServiceBody | undefined) => void;
}

function selectorOf(text: string | undefined): LabelSelector | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSelector(text);
  } catch (e) {
    throw new ApiError(400, "invalid_selector", (e as Error).message, { field: "selector", value: text });
  }
}

function nameParams(c: { req: { param(k: string): string } }) {
  const namespace = c.req.param("namespace");
  const name = c.req.param("name");
  for (const [field, v] of [["namespace", namespace], ["name", name]] as const) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(v)) throw new ApiError(400, "invalid_request", `invalid ${field} "${v}"`, { field, value: v });
  }
  return { namespace, name };
}

/** The catalog input for an API registration; endpoint ids default to address:port. */
export function registrationInput(namespace: string, name: string, body: ServiceBody) {
  const ids = new Set<string>();
  const endpoints = body.endpoints.map((e, i) => {
    const id = e.id ?? `${e.address}:${e.port}`;
    if (ids.has(id)) throw new ApiError(400, "invalid_request", `duplicate endpoint id "${id}"`, { field: `endpoints.${i}.id`, value: id });
    ids.add(id);
    return { id, address: e.address, port: e.port, protocol: e.protocol ?? "http", weight: e.weight ?? 1, metadata: e.metadata ?? {}, ...(e.health ? { health: e.health } : {}) };
  });
  return { name, namespace, ...(body.version !== undefined ? { version: body.version } : {}), labels: body.labels ?? {}, annotations: body.annotations ?? {}, endpoints };
}

export function serviceRoutes(deps: ServiceRouteDeps): Hono {
  const app = new Hono();
  const P = "/services";
  defineRoute(app, P, { method: "get", path: "/", summary: "List services, optionally by namespace and label selector", query: ListQuery, response: Schema.Struct({ services: Schema.Array(ServiceView) }) }, (_c, { query }) => ({
    services: deps.catalog.list({ ...(query.namespace ? { namespace: query.namespace } : {}), ...(query.selector !== undefined ? { selector: selectorOf(query.selector)! } : {}) }) as CatalogService[],
  }));
  defineRoute(app, P, { method: "get", path: "/:namespace/:name", summary: "One service with every endpoint and its health", response: ServiceView }, (c) => {
    const { namespace, name } = nameParams(c);
    const s = deps.catalog.get(namespace, name);
    if (!s) throw new ApiError(404, "not_found", `no service ${namespace}/${name}`);
    return s;
  });
  defineRoute(app, P, { method: "put", path: "/:namespace/:name", summary: "Register or replace a service (persisted)", body: ServiceBody, response: ServiceView }, (c, { body }) => {
    const { namespace, name } = nameParams(c);
    const existing = deps.catalog.get(namespace, name);
    // A service other nodes serve can be registered here too: this node's endpoints join theirs.
    if (existing && existing.source !== "api" && existing.source !== "cluster") {
      throw new ApiError(409, "conflict", `service ${namespace}/${name} is owned by ${existing.source === "app" ? "an app" : "the config file"}; change it there`);
    }
    const input = registrationInput(namespace, name, body);
    deps.persist(namespace, name, body);
    return deps.catalog.upsertService(input, "api");
  });
  defineRoute(app, P, { method: "delete", path: "/:namespace/:name", summary: "Deregister a service registered through the API", response: Schema.Struct({ deregistered: Schema.String }) }, (c) => {
    const { namespace, name } = nameParams(c);
    const existing = deps.catalog.get(namespace, name);
    if (!existing) throw new ApiError(404, "not_found", `no service ${namespace}/${name}`);
    if (existing.source !== "api") throw new ApiError(409, "conflict", `service ${namespace}/${name} is owned by ${existing.source === "app" ? "an app" : existing.source === "cluster" ? "other cluster nodes" : "the config file"}`);
    deps.persist(namespace, name, undefined);
    deps.catalog.removeService(namespace, name);
    return { deregistered: `${namespace}/${name}` };
  });
  defineRoute(app, P, { method: "get", path: "/:namespace/:name/resolve", summary: "Endpoints that answer traffic (passing and warning; all=true for every one)", query: ResolveQuery, response: Schema.Struct({ service: Schema.String, endpoints: Schema.Array(EndpointView) }) }, (c, { query }) => {
    const { namespace, name } = nameParams(c);
    const sel = selectorOf(query.selector);
    const eps = deps.catalog.resolve(name, namespace, { all: query.all === "true", onlyPassing: query.only_passing === "true", ...(sel ? { selector: sel } : {}) });
    if (!eps) throw new ApiError(404, "not_found", `no service ${namespace}/${name}${sel ? " matching the selector" : ""}`);
    return { service: `${namespace}/${name}`, endpoints: eps };
  });
  return app;
}
