// The cluster runner (inside the cluster worker): registers this node and its endpoints in etcd under one lease,
// keeps the lease alive, writes local changes, and watches the prefix to keep the remote table (src/core/cluster)
// in step. It owns the I/O and the retry schedule; what the records mean is decided in the pure table.
//
//   idle --start()--> connecting --registered + synced--> connected --keepalive/watch/write fails--> backoff
//                         ^                                                                          |
//                         +--------------------------------(delay, then a fresh session)------------+
//   any --stop()--> stopped   (graceful: marks the node leaving, revokes the lease so its keys go at once;
//                              a takeover's stop({leave: false}) writes nothing: the successor holds the same keys)
//
// A session: reuse the lease if it still lives, else grant one; put the node record and every local endpoint
// under it (same keys as before, so a re-registration never duplicates) and delete this node's keys that are no
// longer local; read the whole prefix (resync) unless it is the same store we watched before, whose history the
// watch then replays (a compacted one means a full read after all); watch from that revision + 1. While no session runs the
// remote table is kept as it was (stale) and the supervisor keeps serving from it.
import { type BackoffOptions, type BackoffState, INITIAL_BACKOFF, nextBackoff } from "../core/supervision/backoff.ts";
import { type ClusterEndpoint, encodeEndpoint, endpointIdentity, endpointKey, endpointsPrefix, type Member, type NodeRecord, nodeKey, parseKey } from "../core/cluster/records.ts";
import { apply, createTable, members, resync, type TableDelta } from "../core/cluster/table.ts";
import type { Rng } from "../core/time.ts";
import type { ClusterSpec, ClusterStatus, FromCluster } from "../protocol/cluster.ts";
import { type EtcdClient, EtcdError, type KeyValue, type TxnOp, type WatchEvent } from "./etcd.ts";
import { decodeSharedRecord, type SharedRecord, sharedConfigKey } from "./shared-config.ts";

/** What rides on the agent's session (placement: the leader election and the allocations watch). */
export interface ClusterAgentHooks {
  /** Extra fields of this node's record (labels, cluster apps); a change is written with the next diff. */
  nodeExtra?(): Pick<NodeRecord, "labels" | "apps">;
  /** Every key under the prefix, at a full read. */
  onFull?(kvs: readonly KeyValue[], revision: string): void;
  /** Every watched event, as it comes. */
  onEvents?(events: readonly WatchEvent[]): void;
  /** A session registered (under `lease`) and read the prefix; awaited before the session counts as connected. */
  onSession?(lease: string, signal: AbortSignal): Promise<void>;
  /** The session ended (etcd lost, lease lost, stop). */
  onSessionEnd?(): void;
  /** The lease was granted or renewed; `sentAt` is the wall-clock ms the request left (the lease lives at least TTL from it). */
  onRenewed?(sentAt: number): void;
}

/** Reconnect schedule: quick first retries (an etcd restart takes ~1 s), capped so a long outage costs little. */
export const RECONNECT_BACKOFF: BackoffOptions = { initialMs: 200, factor: 2, capMs: 5000, jitter: "decorrelated", stableMs: 30_000, immediateFirst: false };
/** etcd's default limit of operations in one transaction is 128. */
const TXN_OPS = 100;
/** How often the node record is rewritten with fresh capacity figures (each rewrite is one watch event everywhere). */
const NODE_REFRESH_MS = 30_000;
/** How often the etcd status (leader, revision, round trip) is read while connected. */
const STATUS_INTERVAL_MS = 5000;

export interface ClusterAgentDeps {
  readonly spec: ClusterSpec;
  readonly client: EtcdClient;
  readonly send: (m: FromCluster) => void;
  readonly capacity: () => NodeRecord["capacity"];
  readonly log: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
  readonly now?: () => number;
  readonly rng?: Rng;
  readonly hooks?: ClusterAgentHooks;
}

export interface ClusterAgent {
  start(): void;
  setLocal(endpoints: readonly ClusterEndpoint[]): void;
  /** The node record's extra fields changed: rewrite it. */
  nodeChanged(): void;
  /** The current session's lease while connected. */
  lease(): string | undefined;
  members(): Member[];
  status(): ClusterStatus;
  /** Writes the cluster-wide config record (no lease: it outlives every agent); the etcd revision of the write. */
  putSharedConfig(record: SharedRecord): Promise<string>;
  /**
   * Ends the sessions. `leave` (the default) marks the node leaving and revokes the lease, so its keys go at once.
   * Without it (a takeover hands this node to a successor with the same name) nothing is written: the successor
   * moves the keys to its own lease, and ours expires holding nothing.
   */
  stop(opts?: { readonly leave?: boolean }): Promise<void>;
}

class LeaseLost extends Error {}

export function createClusterAgent(deps: ClusterAgentDeps): ClusterAgent {
  const { spec, client } = deps;
  const now = deps.now ?? Date.now;
  const rng = deps.rng ?? { next: Math.random };
  const prefix = spec.prefix;
  const self = spec.node.name;
  const table = createTable(prefix, self);
  const startedAt = now();

  let local = new Map<string, ClusterEndpoint>();
  /** What etcd holds for this node under the current lease: identity -> encoded value. */
  let published = new Map<string, string>();
  let lease: string | undefined;
  let revision = "0";
  let stopped = false;
  let connected = false;
  let stale = true;
  let staleSince: number | undefined = now();
  let lastError: string | undefined;
  let lastResync: number | undefined;
  let resyncs = 0;
  let etcd: { leader?: string; memberId?: string; clusterId?: string; version?: string; revision?: string; rttMs?: number } = {};
  let watchLagMs: number | undefined;
  let nodePutAt: number | undefined;
  /** The free-port count in the node record etcd holds: a change is written with the endpoints that caused it. */
  let nodeFreePorts: number | undefined;
  /** The extra node fields etcd holds (JSON), so a change of labels or apps is written. */
  let nodeExtraPublished: string | undefined;
  const hooks = deps.hooks ?? {};
  const extraJson = () => JSON.stringify(hooks.nodeExtra?.() ?? {});
  let session: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let writing: Promise<void> | undefined;
  let writeAgain = false;

  const nodeRecord = (leaving = false, capacity = deps.capacity()): NodeRecord => ({ name: self, zone: spec.node.zone, advertise: spec.node.advertise, version: spec.version, startedAt, capacity, ...(leaving ? { leaving: true } : {}), ...(hooks.nodeExtra?.() ?? {}) });

  const status = (): ClusterStatus => ({
    node: self,
    connected,
    stale,
    ...(staleSince !== undefined ? { staleSince } : {}),
    ...(lastError !== undefined ? { lastError } : {}),
    endpoint: client.endpoint,
    ...(etcd.leader ? { leaderId: etcd.leader } : {}),
    ...(etcd.memberId ? { memberId: etcd.memberId } : {}),
    ...(etcd.clusterId ? { clusterId: etcd.clusterId } : {}),
    ...(etcd.version ? { etcdVersion: etcd.version } : {}),
    revision,
    ...(etcd.revision ? { etcdRevision: etcd.revision } : {}),
    ...(lastResync !== undefined ? { lastResync } : {}),
    resyncs,
    ...(lease ? { leaseId: lease } : {}),
    registrations: published.size,
    ...(watchLagMs !== undefined ? { watchLagMs } : {}),
    ...(etcd.rttMs !== undefined ? { rttMs: etcd.rttMs } : {}),
    remoteEndpoints: table.endpoints.size,
    members: countMembers(),
  });
  const countMembers = () => {
    const c = { alive: 0, suspect: 0, left: 0, failed: 0 };
    for (const m of members(table, stale)) c[m.status]++;
    return c;
  };
  const report = () => deps.send({ t: "cluster.status", status: status() });

  const configKey = sharedConfigKey(prefix);
  /** The cluster-wide config as etcd holds it: forwarded on each change (value undefined = deleted). */
  const onSharedConfig = (value: string | undefined, modRevision: string) => {
    if (value === undefined) return deps.send({ t: "cluster.config", record: null, revision: modRevision });
    const d = decodeSharedRecord(value);
    if (!d.ok) return deps.log("warn", "skipped an invalid cluster config record", { key: configKey, reason: d.reason });
    deps.send({ t: "cluster.config", record: d.record, revision: modRevision });
  };

  const forward = (d: TableDelta, full: boolean) => {
    if (d.members.length > 0) queueMicrotask(report);
    for (const bad of d.invalid) deps.log("warn", "skipped an invalid cluster record", { key: bad.key, reason: bad.reason });
    if (full || d.upserts.length > 0 || d.removed.length > 0) deps.send({ t: "cluster.remote", full, upserts: full ? [...table.endpoints.values()] : d.upserts, removed: full ? [] : d.removed });
    for (const m of d.members) {
      if (m.node === self) continue;
      const severity = m.kind === "failed" ? "warning" : "info";
      const message = m.kind === "joined" ? `node ${m.node} joined the cluster (${m.record.advertise}, zone ${m.record.zone || "-"})` : m.kind === "left" ? `node ${m.node} left the cluster` : `node ${m.node} failed: its lease expired`;
      deps.send({ t: "cluster.event", type: `cluster.member.${m.kind}`, severity, message, data: { node: m.node, zone: m.record.zone, advertise: m.record.advertise } });
    }
  };

  const goStale = (why: string) => {
    lastError = why;
    hooks.onSessionEnd?.();
    if (connected || staleSince === undefined) {
      connected = false;
      stale = true;
      staleSince = now();
      deps.send({ t: "cluster.event", type: "cluster.disconnected", severity: "warning", message: `lost etcd (${why}); serving from the last known cluster catalog`, data: { error: why } });
    }
    connected = false;
    report();
  };

  /** Writes ops in transactions guarded by this node's lease: a txn that fails the guard means the lease is gone. */
  const guarded = async (ops: TxnOp[]) => {
    for (let i = 0; i < ops.length; i += TXN_OPS) {
      const r = await client.txn([{ key: nodeKey(prefix, self), target: "LEASE", lease: lease! }], ops.slice(i, i + TXN_OPS));
      if (!r.succeeded) throw new LeaseLost(`lease ${lease} no longer holds ${nodeKey(prefix, self)}`);
    }
  };

  /** Brings etcd to the local set: puts what differs, deletes what is no longer local. */
  const writeDiff = async () => {
    const ops: TxnOp[] = [];
    const next = new Map<string, string>();
    for (const [id, e] of local) {
      const v = encodeEndpoint(e);
      next.set(id, v);
      if (published.get(id) !== v) ops.push({ put: { key: endpointKey(prefix, e), value: v, lease: lease! } });
    }
    for (const id of published.keys()) if (!next.has(id)) ops.push({ delete: { key: `${prefix}/endpoints/${id}` } });
    const capacity = deps.capacity();
    const extra = extraJson();
    if (capacity.freePorts !== nodeFreePorts || extra !== nodeExtraPublished) ops.push({ put: { key: nodeKey(prefix, self), value: JSON.stringify(nodeRecord(false, capacity)), lease: lease! } });
    if (ops.length === 0) return;
    await guarded(ops);
    published = next;
    nodeFreePorts = capacity.freePorts;
    nodeExtraPublished = extra;
  };

  /** Serialised writes: a change during a write is written right after it (coalesced). */
  const scheduleWrite = () => {
    if (!connected) return;
    if (writing) {
      writeAgain = true;
      return;
    }
    writing = (async () => {
      do {
        writeAgain = false;
        try {
          await writeDiff();
        } catch (e) {
          // The session notices the same fault (keepalive, watch) or this ends it: a fresh session re-registers.
          session?.abort(e);
          return;
        }
      } while (writeAgain && connected);
    })().finally(() => {
      writing = undefined;
    });
  };

  const register = async () => {
    const sentAt = now();
    if (lease && (await client.keepAlive(lease)) <= 0) lease = undefined;
    if (!lease) {
      lease = await client.grant(spec.leaseTtlSeconds);
      published = new Map();
    }
    hooks.onRenewed?.(sentAt);
    nodePutAt = now();
    const record = nodeRecord();
    await client.put(nodeKey(prefix, self), JSON.stringify(record), lease);
    nodeFreePorts = record.capacity.freePorts;
    nodeExtraPublished = extraJson();
    // What etcd holds for this node from before (an earlier run, or writes lost in a partition) is re-read, so the
    // diff deletes leftovers and rewrites what differs; keys are per endpoint, so nothing is ever duplicated.
    const mine = await client.range(endpointsPrefix(prefix, self), { prefix: true });
    published = new Map();
    for (const kv of mine.kvs) {
      const k = parseKey(prefix, kv.key);
      if (k.kind === "endpoint") published.set(k.identity, kv.lease === lease ? kv.value : "");
    }
    await writeDiff();
  };

  const fullSync = async () => {
    const r = await client.range(`${prefix}/`, { prefix: true });
    const d = resync(table, r.kvs, now());
    hooks.onFull?.(r.kvs, r.revision);
    const shared = r.kvs.find((kv) => kv.key === configKey);
    onSharedConfig(shared?.value, shared?.modRevision ?? r.revision);
    revision = r.revision;
    lastResync = now();
    resyncs++;
    forward(d, true);
  };

  const keepAliveLoop = async (signal: AbortSignal) => {
    const every = Math.max(500, (spec.leaseTtlSeconds * 1000) / 3);
    let lastStatus = 0;
    let lastNode = now();
    while (!signal.aborted) {
      await sleep(every, signal);
      if (signal.aborted) return;
      const t0 = performance.now();
      const sentAt = now();
      const ttl = await client.keepAlive(lease!);
      etcd.rttMs = Math.round((performance.now() - t0) * 100) / 100;
      if (ttl <= 0) throw new LeaseLost(`lease ${lease} expired`);
      hooks.onRenewed?.(sentAt);
      if (now() - lastStatus >= STATUS_INTERVAL_MS) {
        lastStatus = now();
        const s = await client.status();
        etcd = { ...etcd, leader: s.leader, memberId: s.memberId, clusterId: s.clusterId, version: s.version, revision: s.revision };
        report();
      }
      if (now() - lastNode >= NODE_REFRESH_MS) {
        lastNode = now();
        nodePutAt = now();
        const record = nodeRecord();
        await guarded([{ put: { key: nodeKey(prefix, self), value: JSON.stringify(record), lease: lease! } }]);
        nodeFreePorts = record.capacity.freePorts;
      }
    }
  };

  const watchLoop = async (signal: AbortSignal) => {
    while (!signal.aborted) {
      try {
        await client.watch(`${prefix}/`, { prefix: true, startRevision: String(BigInt(revision) + 1n), signal }, (events, rev) => {
          const at = now();
          for (const e of events) if (e.key === nodeKey(prefix, self) && e.type === "put" && nodePutAt !== undefined) {
            watchLagMs = at - nodePutAt;
            nodePutAt = undefined;
          }
          forward(apply(table, events, at), false);
          hooks.onEvents?.(events);
          for (const e of events) if (e.key === configKey) onSharedConfig(e.type === "put" ? e.value : undefined, e.modRevision);
          if (BigInt(rev) > BigInt(revision)) revision = rev;
        });
      } catch (e) {
        if (e instanceof EtcdError && e.reason === "compacted") {
          deps.send({ t: "cluster.event", type: "cluster.resync", severity: "info", message: `watch revision compacted: full resync (${e.message})` });
          await fullSync();
          continue;
        }
        throw e;
      }
      // The server closed the stream cleanly (etcd restarting, a proxy): resume from the last revision.
      if (!signal.aborted) await sleep(100, signal);
    }
  };

  const runSession = async () => {
    session = new AbortController();
    const signal = session.signal;
    await register();
    // Back on the same store with its history since our revision: the watch replays what we missed, so no full read
    // (1,000 agents re-reading the prefix at once after an etcd restart is the storm to avoid). A different cluster,
    // a store whose revision went back (restored or wiped), or a first session reads everything.
    const s = await client.status();
    const sameStore = revision !== "0" && etcd.clusterId === s.clusterId && BigInt(s.revision) >= BigInt(revision);
    etcd = { ...etcd, leader: s.leader, memberId: s.memberId, clusterId: s.clusterId, version: s.version, revision: s.revision };
    if (!sameStore) await fullSync();
    await hooks.onSession?.(lease!, signal);
    connected = true;
    stale = false;
    const wasStale = staleSince;
    staleSince = undefined;
    lastError = undefined;
    deps.send({ t: "cluster.event", type: "cluster.connected", severity: "info", message: `registered node ${self} in etcd at ${client.endpoint} (lease ${lease}, ${published.size} endpoints, ${table.endpoints.size} remote)`, data: { endpoint: client.endpoint, lease, ...(wasStale ? { staleForMs: now() - wasStale } : {}) } });
    report();
    scheduleWrite();
    const aborted = new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason ?? new Error("session aborted")), { once: true }));
    try {
      await Promise.race([keepAliveLoop(signal), watchLoop(signal), aborted]);
    } finally {
      session.abort();
    }
  };

  const run = async () => {
    let backoff: BackoffState = INITIAL_BACKOFF;
    while (!stopped) {
      try {
        await runSession();
      } catch (e) {
        if (stopped) return;
        // A session that got connected starts the schedule over: the next outage retries quickly again.
        if (connected) backoff = INITIAL_BACKOFF;
        if (e instanceof LeaseLost) lease = undefined;
        const why = (e as Error).message ?? String(e);
        // One warning per outage (with the event); the retries after it log at debug, so hours of outage stay quiet.
        const firstFailure = connected || lastError === undefined;
        goStale(why);
        deps.log(firstFailure ? (e instanceof EtcdError && e.reason === "unreachable" ? "warn" : "error") : "debug", "cluster session ended", { error: why });
      }
      if (stopped) return;
      const d = nextBackoff(RECONNECT_BACKOFF, backoff, rng);
      backoff = d.state;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, d.delayMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
  };

  return {
    start() {
      if (loop || stopped) return;
      loop = run();
    },
    setLocal(endpoints) {
      const next = new Map<string, ClusterEndpoint>();
      for (const e of endpoints) next.set(endpointIdentity(e), e);
      local = next;
      scheduleWrite();
    },
    members: () => members(table, stale),
    nodeChanged: () => scheduleWrite(),
    lease: () => (connected ? lease : undefined),
    status,
    putSharedConfig: (record) => client.put(configKey, JSON.stringify(record)),
    async stop(opts) {
      if (stopped) return;
      stopped = true;
      const leave = opts?.leave ?? true;
      const wasConnected = connected;
      session?.abort();
      wake?.();
      await loop?.catch(() => {});
      await writing;
      if (leave && wasConnected && lease) {
        try {
          await client.put(nodeKey(prefix, self), JSON.stringify(nodeRecord(true)), lease);
          await client.revoke(lease);
        } catch (e) {
          deps.log("warn", "could not deregister from etcd; the lease expires on its own", { error: (e as Error).message, ttlSeconds: spec.leaseTtlSeconds });
        }
      }
      if (!leave) deps.log("info", "handed this node's cluster registration over without leaving", { node: self, lease });
      connected = false;
      hooks.onSessionEnd?.();
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
