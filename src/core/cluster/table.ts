// The remote half of the cluster catalog as one agent sees it: members and other nodes' endpoints, rebuilt from
// etcd's watch events and full reads. Pure (no I/O, the clock is passed in): `apply` folds watch events, `resync`
// replaces everything from a full read; both return only what changed, so the supervisor's catalog gets deltas.
// This agent's own endpoints are skipped (it owns them locally); its own node record is kept for `members`.
import { type ClusterEndpoint, decodeEndpoint, decodeNode, endpointIdentity, type Member, type NodeRecord, parseKey } from "./records.ts";

export type KvEvent = { readonly type: "put"; readonly key: string; readonly value: string } | { readonly type: "delete"; readonly key: string };

export type MemberChange = { readonly kind: "joined" | "left" | "failed"; readonly node: string; readonly record: NodeRecord };

export interface TableDelta {
  readonly upserts: ClusterEndpoint[];
  readonly removed: string[];
  readonly members: MemberChange[];
  readonly invalid: Array<{ key: string; reason: string }>;
}

export interface RemoteTable {
  readonly prefix: string;
  readonly self: string;
  readonly nodes: Map<string, { record: NodeRecord; lastSeen: number }>;
  /** Members that left or failed, newest last, bounded. */
  readonly gone: Map<string, Member>;
  readonly endpoints: Map<string, ClusterEndpoint>;
}

/** Enough history for `polis members` to show who went away, without growing forever on a churning cluster. */
export const GONE_LIMIT = 256;

export function createTable(prefix: string, self: string): RemoteTable {
  return { prefix, self, nodes: new Map(), gone: new Map(), endpoints: new Map() };
}

const emptyDelta = (): TableDelta => ({ upserts: [], removed: [], members: [], invalid: [] });
const same = (a: ClusterEndpoint, b: ClusterEndpoint) => JSON.stringify(a) === JSON.stringify(b);

function putNode(t: RemoteTable, node: string, value: string, now: number, d: TableDelta, key: string) {
  const r = decodeNode(value, node);
  if (!r.ok) return void d.invalid.push({ key, reason: r.reason });
  const had = t.nodes.has(node);
  t.nodes.set(node, { record: r.value, lastSeen: now });
  t.gone.delete(node);
  if (!had) d.members.push({ kind: "joined", node, record: r.value });
}

function dropNode(t: RemoteTable, node: string, now: number, d: TableDelta) {
  const n = t.nodes.get(node);
  if (!n) return;
  t.nodes.delete(node);
  const kind = n.record.leaving ? "left" : "failed";
  t.gone.delete(node);
  t.gone.set(node, { ...n.record, status: kind, lastSeen: now, self: node === t.self });
  if (t.gone.size > GONE_LIMIT) t.gone.delete(t.gone.keys().next().value!);
  d.members.push({ kind, node, record: n.record });
}

function putEndpoint(t: RemoteTable, identity: string, value: string, d: TableDelta, key: string) {
  const r = decodeEndpoint(value, identity);
  if (!r.ok) {
    d.invalid.push({ key, reason: r.reason });
    // A record replaced by a bad one is gone: what it said is no longer what its owner says.
    if (t.endpoints.delete(identity)) d.removed.push(identity);
    return;
  }
  const prev = t.endpoints.get(identity);
  if (prev && same(prev, r.value)) return;
  t.endpoints.set(identity, r.value);
  d.upserts.push(r.value);
}

/** Folds watch events in order. */
export function apply(t: RemoteTable, events: readonly KvEvent[], now: number): TableDelta {
  const d = emptyDelta();
  for (const e of events) {
    const k = parseKey(t.prefix, e.key);
    if (k.kind === "other") continue;
    if (k.kind === "node") {
      if (e.type === "put") putNode(t, k.node, e.value, now, d, e.key);
      else dropNode(t, k.node, now, d);
      continue;
    }
    if (k.node === t.self) continue;
    if (e.type === "put") putEndpoint(t, k.identity, e.value, d, e.key);
    else if (t.endpoints.delete(k.identity)) d.removed.push(k.identity);
  }
  return d;
}

/** Replaces the table with a full read of the prefix; the delta is what changed against what was known. */
export function resync(t: RemoteTable, kvs: ReadonlyArray<{ key: string; value: string }>, now: number): TableDelta {
  const d = emptyDelta();
  const seenNodes = new Set<string>();
  const seenEndpoints = new Set<string>();
  for (const kv of kvs) {
    const k = parseKey(t.prefix, kv.key);
    if (k.kind === "node") {
      seenNodes.add(k.node);
      putNode(t, k.node, kv.value, now, d, kv.key);
    } else if (k.kind === "endpoint" && k.node !== t.self) {
      seenEndpoints.add(k.identity);
      putEndpoint(t, k.identity, kv.value, d, kv.key);
    }
  }
  for (const id of [...t.endpoints.keys()]) {
    if (!seenEndpoints.has(id)) {
      t.endpoints.delete(id);
      d.removed.push(id);
    }
  }
  for (const node of [...t.nodes.keys()]) if (!seenNodes.has(node)) dropNode(t, node, now, d);
  return d;
}

/**
 * Every member this agent knows: present ones are alive, or suspect while this agent's view is stale (it cannot
 * reach etcd, so it cannot tell); gone ones are left (graceful stop) or failed (lease expired). Sorted by name.
 */
export function members(t: RemoteTable, stale: boolean): Member[] {
  const out: Member[] = [];
  for (const [name, n] of t.nodes) out.push({ ...n.record, status: stale && name !== t.self ? "suspect" : "alive", lastSeen: n.lastSeen, self: name === t.self });
  for (const [name, m] of t.gone) if (!t.nodes.has(name)) out.push(m);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export { endpointIdentity };
