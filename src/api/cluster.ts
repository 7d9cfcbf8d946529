// GET /v1/cluster/members (every node this agent knows, like `consul members`), GET /v1/cluster/status (the etcd
// link: reachable, leader, revisions, watch lag, last resync, whether the remote catalog is stale), and
// GET/PUT /v1/cluster/config (the cluster-wide config sections in etcd, validated whole here before the write).
import { Schema } from "effect";
import { Hono } from "hono";
import type { ClusterStatus, Member, SharedRecord } from "../protocol/cluster.ts";
import type { ConfigProblem } from "../config/problems.ts";
import { type ApplyResult, applyError, redactConfig } from "./config.ts";
import { ApiError } from "./errors.ts";
import { defineRoute, jsonBody, registry } from "./route.ts";
import { MAX_SHARED_BYTES } from "../cluster/shared-config.ts";

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

const Problem = Schema.Struct({ path: Schema.String, message: Schema.String, value: Schema.optionalKey(Schema.String) });
const SharedView = Schema.Struct({
  document: Schema.Unknown.annotate({ description: "The shared sections (apps with placement.scope: cluster, alerts.receivers), secrets redacted; null: none" }),
  revision: Schema.NullOr(Schema.String).annotate({ description: "etcd revision of the document this agent runs" }),
  updatedAt: Schema.optionalKey(Schema.Number),
  writtenBy: Schema.optionalKey(Schema.String),
  last: Schema.optionalKey(Schema.Struct({ revision: Schema.String, applied: Schema.Boolean, message: Schema.optionalKey(Schema.String), problems: Schema.optionalKey(Schema.Array(Problem)) })).annotate({ description: "The last cluster config this agent received: applied, or why not (its running config is then unchanged)" }),
  shadowed: Schema.Array(Schema.String).annotate({ description: "Shared items this agent's own file defines too (its own wins), as apps/NAME or receivers/NAME" }),
  ignored: Schema.Array(Schema.String).annotate({ description: "Shared apps this agent does not run: its file does not set api.allow_api_commands: true" }),
});

export interface SharedState {
  readonly record?: SharedRecord;
  readonly revision?: string;
  /** The last cluster config this agent received, whether applied or not. */
  readonly last?: { readonly revision: string; readonly applied: boolean; readonly problems?: readonly ConfigProblem[]; readonly message?: string };
  /** Shared items this agent's own file shadows (its own wins), as "apps/web". */
  readonly shadowed: readonly string[];
  /** Shared apps not run here: this agent's file does not set api.allow_api_commands: true. */
  readonly ignored: readonly string[];
}

export interface ClusterRouteDeps {
  /** Undefined without a `cluster:` section. */
  readonly members?: () => Promise<Member[]>;
  readonly status?: () => Promise<ClusterStatus>;
  readonly sharedConfig?: {
    readonly node: string;
    state(): SharedState;
    /** The whole check before a write (shape, command switch, merged config). */
    check(doc: unknown): ApplyResult;
    put(record: SharedRecord): Promise<{ revision: string }>;
  };
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
  const shared = deps.sharedConfig;
  const view = () => {
    const s = shared!.state();
    return {
      document: s.record ? redactConfig(s.record.document) : null,
      revision: s.revision ?? null,
      ...(s.record ? { updatedAt: s.record.updatedAt, writtenBy: s.record.node } : {}),
      ...(s.last ? { last: { revision: s.last.revision, applied: s.last.applied, ...(s.last.message ? { message: s.last.message } : {}), ...(s.last.problems ? { problems: s.last.problems } : {}) } } : {}),
      shadowed: [...s.shadowed],
      ignored: [...s.ignored],
    };
  };
  defineRoute(app, "/cluster", { method: "get", path: "/config", summary: "The cluster-wide config sections this agent runs (from etcd), what its own file shadows, and how the last change fared here", response: SharedView, errors: [409] }, () => {
    if (!shared) throw new ApiError(409, "no_cluster", "this agent has no cluster: section, so there is no cluster-wide config");
    return view();
  });
  registry.push({
    method: "put",
    path: "/v1/cluster/config",
    summary: "Replace the cluster-wide config (apps with placement.scope: cluster, alerts.receivers): validated whole with this agent's config, then written to etcd; every agent applies it atomically, its own file winning by name",
    body: Schema.Record(Schema.String, Schema.Unknown),
    response: Schema.Struct({ revision: Schema.String, written: Schema.Literal(true) }),
    status: 200,
    role: "admin",
    errors: [409, 503],
  });
  app.put("/config", async (c) => {
    const principal = c.get("principal" as never) as { role: string } | undefined;
    if (principal && principal.role !== "admin") throw new ApiError(403, "forbidden", "changing the cluster config needs the admin role");
    if (!shared) throw new ApiError(409, "no_cluster", "this agent has no cluster: section, so there is no cluster-wide config to write");
    const doc = await jsonBody(c);
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new ApiError(400, "invalid_request", "expected a JSON object with apps and/or alerts.receivers");
    const text = JSON.stringify(doc);
    if (text.length > MAX_SHARED_BYTES) throw new ApiError(413, "too_large", `the cluster config is ${text.length} bytes; at most ${MAX_SHARED_BYTES} are accepted (every agent holds it)`);
    const checked = shared.check(doc);
    if (!checked.ok) throw applyError(checked);
    const r = await shared.put({ document: doc, updatedAt: Date.now(), node: shared.node }).catch(unavailable);
    return c.json({ revision: r.revision, written: true as const });
  });
  return app;
}

function unavailable(e: unknown): never {
  throw new ApiError(503, "unavailable", `cluster worker: ${(e as Error).message ?? String(e)}`);
}
