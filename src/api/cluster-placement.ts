// Cluster placement: GET /v1/cluster/apps (each cluster app's spec, placed and unplaceable slots, per node),
// GET /v1/cluster/allocations (every slot -> node), GET /v1/cluster/leader, POST /v1/cluster/apps/:name/rebalance.
// Every agent answers from its own watch of etcd; a rebalance asked of a follower is handed to the leader.
import { Schema } from "effect";
import { Hono } from "hono";
import type { Change } from "../core/placement/types.ts";
import type { PlacementView } from "../protocol/cluster.ts";
import { ApiError } from "./errors.ts";
import { defineRoute, param } from "./route.ts";

const Constraint = Schema.Struct({ label: Schema.String, op: Schema.Literals(["eq", "neq", "in", "exists"]), value: Schema.optionalKey(Schema.String), values: Schema.optionalKey(Schema.Array(Schema.String)) });
const Unplaceable = Schema.Struct({
  slot: Schema.Number,
  reason: Schema.String,
  filtered: Schema.Record(Schema.String, Schema.Number).annotate({ description: "nodes ruled out, by filter" }),
});
const AppView = Schema.Struct({
  name: Schema.String,
  replicas: Schema.Number.annotate({ description: "slots wanted across the cluster" }),
  placed: Schema.Number,
  pending: Schema.Number.annotate({ description: "slots on a gone node waiting for reschedule.delay" }),
  unplaceable: Schema.Array(Unplaceable),
  nodes: Schema.Record(Schema.String, Schema.Number).annotate({ description: "slots per node" }),
  spread: Schema.Literals(["zone", "node", "none"]),
  constraints: Schema.Array(Constraint),
  maxPerNode: Schema.optionalKey(Schema.Number),
  rescheduleDelayMs: Schema.Number,
  rescheduleMaxDelayMs: Schema.Number,
  at: Schema.optionalKey(Schema.Number.annotate({ description: "ms since the epoch of the leader pass this comes from (absent: no pass yet)" })),
});
const AllocationView = Schema.Struct({
  app: Schema.String,
  slot: Schema.Number,
  node: Schema.String,
  generation: Schema.Number.annotate({ description: "bumped on every assignment of the slot" }),
  reschedules: Schema.Number,
  placedAt: Schema.Number,
  term: Schema.String.annotate({ description: "the leader term (leader key create revision) that wrote it" }),
});
const LeaderView = Schema.Struct({
  node: Schema.optionalKey(Schema.String),
  since: Schema.optionalKey(Schema.Number),
  term: Schema.optionalKey(Schema.String),
  self: Schema.Boolean,
  connected: Schema.Boolean.annotate({ description: "false: this agent has no etcd session and shows the last known leader" }),
  lastPass: Schema.optionalKey(Schema.Number),
});
const Move = Schema.Struct({ slot: Schema.Number, from: Schema.optionalKey(Schema.String), to: Schema.optionalKey(Schema.String), why: Schema.String, message: Schema.String });

export interface ClusterPlacementDeps {
  /** Undefined without a `cluster:` section. */
  readonly view?: () => Promise<PlacementView>;
  readonly rebalance?: (app: string) => Promise<{ app: string; leader?: string; done: boolean; moves: readonly Change[] }>;
  /** Names of this config's cluster apps. */
  readonly clusterApps: () => readonly string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function clusterPlacementRoutes(deps: ClusterPlacementDeps): Hono {
  const app = new Hono();
  const view = async (): Promise<PlacementView | undefined> => (deps.view ? await deps.view().catch(unavailable) : undefined);

  defineRoute(app, "/cluster", { method: "get", path: "/apps", summary: "Cluster apps: wanted, placed, pending and unplaceable slots (with why), slots per node", response: Schema.Struct({ apps: Schema.Array(AppView) }), errors: [503] }, async () => {
    const v = await view();
    if (!v) return { apps: [] };
    return {
      apps: v.apps.map((s) => {
        const nodes: Record<string, number> = {};
        for (const a of v.allocations) if (a.app === s.app) nodes[a.node] = (nodes[a.node] ?? 0) + 1;
        return {
          name: s.app,
          replicas: s.spec.replicas,
          placed: s.placed,
          pending: s.pending,
          unplaceable: s.unplaceable.map((u) => ({ slot: u.slot, reason: u.reason, filtered: { ...u.filtered } })),
          nodes,
          spread: s.spec.spread,
          constraints: s.spec.constraints.map((c) => ({ label: c.label, op: c.op, ...(c.value !== undefined ? { value: c.value } : {}), ...(c.values ? { values: [...c.values] } : {}) })),
          ...(s.spec.maxPerNode !== undefined ? { maxPerNode: s.spec.maxPerNode } : {}),
          rescheduleDelayMs: s.spec.rescheduleDelayMs,
          rescheduleMaxDelayMs: s.spec.rescheduleMaxDelayMs,
          ...(s.at ? { at: s.at } : {}),
        };
      }),
    };
  });

  defineRoute(
    app,
    "/cluster",
    { method: "get", path: "/allocations", summary: "Every allocated slot of the cluster apps and the node it runs on", query: Schema.Struct({ app: Schema.optionalKey(Schema.String), node: Schema.optionalKey(Schema.String) }), response: Schema.Struct({ allocations: Schema.Array(AllocationView) }), errors: [503] },
    async (_c, { query }) => {
      const v = await view();
      if (!v) return { allocations: [] };
      return { allocations: v.allocations.filter((a) => (query.app === undefined || a.app === query.app) && (query.node === undefined || a.node === query.node)).map((a) => ({ app: a.app, slot: a.slot, node: a.node, generation: a.generation, reschedules: a.reschedules, placedAt: a.placedAt, term: a.term })) };
    },
  );

  defineRoute(app, "/cluster", { method: "get", path: "/leader", summary: "The placement leader this agent knows (node, since, term) and whether it is this agent", response: Schema.Struct({ enabled: Schema.Boolean, leader: Schema.optionalKey(LeaderView) }), errors: [503] }, async () => {
    const v = await view();
    if (!v) return { enabled: false };
    return { enabled: true, leader: v.leader };
  });

  defineRoute(
    app,
    "/cluster",
    {
      method: "post",
      path: "/apps/:name/rebalance",
      summary: "Even out a cluster app's slots over nodes or zones (the fewest moves); done by the leader, at once when asked of it",
      response: Schema.Struct({ app: Schema.String, leader: Schema.optionalKey(Schema.String), done: Schema.Boolean.annotate({ description: "false: handed to the leader, whose moves show in /v1/cluster/allocations" }), moves: Schema.Array(Move) }),
      role: "operator",
      errors: [409, 503],
    },
    async (c) => {
      const name = param(c, "name");
      if (!NAME.test(name)) throw new ApiError(400, "invalid_request", `app name ${JSON.stringify(name.slice(0, 80))} is not a valid name`);
      if (!deps.rebalance) throw new ApiError(409, "conflict", "this agent has no cluster: section, so it has no cluster apps");
      if (!deps.clusterApps().includes(name)) throw new ApiError(404, "not_found", `no cluster app ${name} in this agent's config (apps[].placement.scope: cluster)`);
      const r = await deps.rebalance(name).catch(unavailable);
      return { app: r.app, ...(r.leader ? { leader: r.leader } : {}), done: r.done, moves: r.moves.map((m) => ({ slot: m.slot, ...(m.from ? { from: m.from } : {}), ...(m.to ? { to: m.to } : {}), why: m.why, message: m.message })) };
    },
  );
  return app;
}

function unavailable(e: unknown): never {
  throw new ApiError(503, "unavailable", `cluster worker: ${(e as Error).message ?? String(e)}`);
}
