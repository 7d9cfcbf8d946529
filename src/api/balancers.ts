// /v1/balancers: listeners with their endpoints, health, weights, lifetime totals and windowed rates; drain and re-weight.
import { Schema } from "effect";
import { Hono } from "hono";
import type { BalancerView } from "../supervisor/balancer-link.ts";
import { ApiError } from "./errors.ts";
import { defineRoute, param } from "./route.ts";

const Counts = Schema.Struct({
  requests: Schema.Number,
  responses: Schema.Struct({ "1xx": Schema.Number, "2xx": Schema.Number, "3xx": Schema.Number, "4xx": Schema.Number, "5xx": Schema.Number }),
  errors: Schema.Number,
  retries: Schema.Number,
  ejections: Schema.Number,
  bytesIn: Schema.Number,
  bytesOut: Schema.Number,
});
/** Lifetime totals (since totalsSince) and per-second rates over the last rateWindowSeconds; 5xx include the proxy's own 502/503/504. */
const Stats = Schema.Struct({
  active: Schema.Number,
  totals: Counts,
  totalsSince: Schema.String,
  ratesPerSecond: Counts,
  rateWindowSeconds: Schema.Number,
  latency: Schema.Struct({ count: Schema.Number, meanMs: Schema.Number, p50Ms: Schema.Number, p95Ms: Schema.Number, p99Ms: Schema.Number }),
});
const Endpoint = Schema.Struct({
  id: Schema.String,
  address: Schema.String,
  port: Schema.Number,
  weight: Schema.Number,
  health: Schema.Literals(["passing", "warning", "critical"]),
  draining: Schema.Boolean,
  backup: Schema.optionalKey(Schema.Boolean).annotate({ description: "from backends.backup: serves only while no primary can, or while failed over" }),
  source: Schema.String.annotate({ description: "app, service or static; backup:<that> for a backup endpoint" }),
  ejected: Schema.Boolean,
  ejectedUntil: Schema.Number,
  stats: Stats,
});
export const BalancerSchema = Schema.Struct({
  name: Schema.String,
  listen: Schema.String,
  protocol: Schema.String,
  algorithm: Schema.String,
  panic: Schema.Boolean,
  onBackup: Schema.Boolean.annotate({ description: "traffic goes to the backup endpoints (no primary is eligible, or failed over)" }),
  failedOver: Schema.Boolean.annotate({ description: "the recovery ladder failed this balancer over to its backups until the primary recovers" }),
  /** False while a balancer worker cannot bind the listen address; `problem` has the address and errno. */
  listening: Schema.Boolean,
  problem: Schema.optionalKey(Schema.String),
  stats: Stats,
  endpoints: Schema.Array(Endpoint),
});

export interface BalancerRouteDeps {
  views: () => BalancerView[];
  view: (name: string) => BalancerView | undefined;
  drain: (balancer: string, endpoint: string) => Promise<{ inFlight: number }>;
  setWeight: (balancer: string, endpoint: string, weight: number) => void;
}

export function balancerRoutes(deps: BalancerRouteDeps): Hono {
  const app = new Hono();
  const P = "/balancers";
  const find = (name: string, endpoint?: string) => {
    const v = deps.view(name);
    if (!v) throw new ApiError(404, "not_found", `no balancer named ${name}`);
    if (endpoint !== undefined && !v.endpoints.some((e) => e.id === endpoint)) throw new ApiError(404, "not_found", `balancer ${name} has no endpoint ${endpoint}`);
    return v;
  };
  defineRoute(app, P, { method: "get", path: "/", summary: "Every balancer with its endpoints, lifetime totals and rates over the last seconds", response: Schema.Struct({ balancers: Schema.Array(BalancerSchema) }) }, () => ({ balancers: deps.views() }));
  defineRoute(app, P, { method: "get", path: "/:name", summary: "One balancer", response: BalancerSchema }, (c) => find(param(c, "name")));
  defineRoute(app, P, { method: "post", path: "/:name/endpoints/:id/drain", summary: "Stop new traffic to an endpoint and wait (up to drain_timeout) for in-flight requests", response: Schema.Struct({ balancer: Schema.String, endpoint: Schema.String, drained: Schema.Boolean, inFlight: Schema.Number }) }, async (c) => {
    const name = param(c, "name");
    const id = param(c, "id");
    find(name, id);
    const r = await deps.drain(name, id);
    return { balancer: name, endpoint: id, drained: r.inFlight === 0, inFlight: r.inFlight };
  });
  defineRoute(app, P, { method: "patch", path: "/:name/endpoints/:id", summary: "Change an endpoint's weight", body: Schema.Struct({ weight: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })) }), response: Schema.Struct({ balancer: Schema.String, endpoint: Schema.String, weight: Schema.Number }) }, (c, { body }) => {
    const name = param(c, "name");
    const id = param(c, "id");
    find(name, id);
    deps.setWeight(name, id, body.weight);
    return { balancer: name, endpoint: id, weight: body.weight };
  });
  return app;
}
