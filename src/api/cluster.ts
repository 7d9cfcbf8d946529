// GET /v1/cluster/members (every node this agent knows, like `consul members`) and GET /v1/cluster/status (the etcd
// link: reachable, leader, revisions, watch lag, last resync, whether the remote catalog is stale).
import { Schema } from "effect";
import { Hono } from "hono";
import type { ClusterStatus, Member } from "../protocol/cluster.ts";
import { ApiError } from "./errors.ts";
import { defineRoute } from "./route.ts";

const MemberView = Schema.Struct({
  name: Schema.String,
  zone: Schema.String,
  advertise: Schema.String,
  status: Schema.Literals(["alive", "suspect", "left", "failed"]).annotate({ description: "suspect: this agent cannot reach etcd, so its view may be stale; left: stopped gracefully; failed: its lease expired" }),
  version: Schema.String,
  startedAt: Schema.Number,
  lastSeen: Schema.Number.annotate({ description: "ms since the epoch this agent last saw the node's record" }),
  self: Schema.Boolean,
  capacity: Schema.Struct({ cores: Schema.Number, memoryBytes: Schema.Number, load1: Schema.Number, freePorts: Schema.Number }),
  leaving: Schema.optionalKey(Schema.Boolean),
  labels: Schema.optionalKey(Schema.Record(Schema.String, Schema.String).annotate({ description: "cluster.node.labels: what placement constraints match" })),
  apps: Schema.optionalKey(Schema.Array(Schema.String).annotate({ description: "The cluster apps (placement.scope cluster) the node's config defines: the leader places only those there" })),
});

const StatusView = Schema.Struct({
  enabled: Schema.Boolean,
  node: Schema.optionalKey(Schema.String),
  connected: Schema.Boolean,
  stale: Schema.Boolean,
  staleSince: Schema.optionalKey(Schema.Number),
  lastError: Schema.optionalKey(Schema.String),
  endpoint: Schema.optionalKey(Schema.String),
  leaderId: Schema.optionalKey(Schema.String),
  memberId: Schema.optionalKey(Schema.String),
  clusterId: Schema.optionalKey(Schema.String),
  etcdVersion: Schema.optionalKey(Schema.String),
  revision: Schema.optionalKey(Schema.String),
  etcdRevision: Schema.optionalKey(Schema.String),
  watchLagRevisions: Schema.optionalKey(Schema.Number),
  lastResync: Schema.optionalKey(Schema.Number),
  resyncs: Schema.optionalKey(Schema.Number),
  leaseId: Schema.optionalKey(Schema.String),
  registrations: Schema.optionalKey(Schema.Number),
  watchLagMs: Schema.optionalKey(Schema.Number),
  rttMs: Schema.optionalKey(Schema.Number),
  remoteEndpoints: Schema.optionalKey(Schema.Number),
  members: Schema.optionalKey(Schema.Struct({ alive: Schema.Number, suspect: Schema.Number, left: Schema.Number, failed: Schema.Number })),
});

export interface ClusterRouteDeps {
  /** Undefined without a `cluster:` section. */
  readonly members?: () => Promise<Member[]>;
  readonly status?: () => Promise<ClusterStatus>;
}

export function clusterRoutes(deps: ClusterRouteDeps): Hono {
  const app = new Hono();
  defineRoute(app, "/cluster", { method: "get", path: "/members", summary: "Every cluster node this agent knows: zone, address, status, version, last seen", response: Schema.Struct({ members: Schema.Array(MemberView) }), errors: [503] }, async () => {
    if (!deps.members) return { members: [] };
    return { members: await deps.members().catch(unavailable) };
  });
  defineRoute(app, "/cluster", { method: "get", path: "/status", summary: "The etcd link: reachable, leader, revision, watch lag, last resync, stale catalog", response: StatusView, errors: [503] }, async () => {
    if (!deps.status) return { enabled: false, connected: false, stale: false };
    const s = await deps.status().catch(unavailable);
    const lag = s.etcdRevision !== undefined ? Number(BigInt(s.etcdRevision) - BigInt(s.revision)) : undefined;
    return { enabled: true, ...s, ...(lag !== undefined ? { watchLagRevisions: Math.max(0, lag) } : {}) };
  });
  return app;
}

function unavailable(e: unknown): never {
  throw new ApiError(503, "unavailable", `cluster worker: ${(e as Error).message ?? String(e)}`);
}
