// Placement inside the cluster worker: follows the leader key and the allocations in etcd, reports this node's
// slots to the supervisor, and, while this agent is the leader, runs the pure scheduler (src/core/placement) and
// writes its allocations. It rides on the cluster agent's session (lease, watch) through ClusterAgentHooks.
//
// Election (lease-based, fenced by revision): a candidate puts <prefix>/leader under its node lease in a txn that
// requires the key not to exist (create revision 0). The winner's term is that key's create revision. Every write
// the leader makes is a txn comparing the leader key's create revision with its term, so a deposed leader (its
// lease expired and another node created the key again) has its writes refused. The key goes with the leader's
// lease; the others see the delete on their watch and campaign.
//
//   follower --leader key deleted / session start--> campaign --txn won--> leader --txn refused / session ended--> follower
//
// Allocations are applied in revision order per key (a watch that replays history after a range never rolls a
// key back). A leader applies its own writes at once (with the txn's revision) so a second pass before the watch
// echo sees them.
import { place } from "../core/placement/scheduler.ts";
import { type AllocationRecord, type AppStatusRecord, allocKey, allocPrefix, decodeAllocation, decodeLeader, decodeStatus, encodeAllocation, type LeaderRecord, leaderKey, parsePlacementKey, sameAllocation, statusKey, statusPrefix } from "../core/placement/records.ts";
import { type Change, type PlacementApp, type PlacementNode, slotId, Why } from "../core/placement/types.ts";
import type { Member } from "../core/cluster/records.ts";
import type { FromCluster, LeaderView, PlacementView } from "../protocol/cluster.ts";
import type { ClusterAgentHooks } from "./agent.ts";
import { type EtcdClient, type KeyValue, type TxnOp, type WatchEvent } from "./etcd.ts";

/** etcd's default limit of operations in one transaction is 128. */
const TXN_OPS = 100;
/** Changes that arrive together (a node's keys vanishing at once) make one pass. */
const PASS_DEBOUNCE_MS = 25;
/** A pass whose write failed (etcd slow) is tried again after this. */
const PASS_RETRY_MS = 500;
export const rebalanceKey = (prefix: string, app: string) => `${prefix}/rebalance/${app}`;

export interface PlacementRunnerDeps {
  readonly prefix: string;
  readonly self: string;
  readonly client: EtcdClient;
  readonly members: () => Member[];
  readonly send: (m: FromCluster) => void;
  readonly log: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
  readonly labels: Readonly<Record<string, string>>;
  readonly now?: () => number;
}

export interface PlacementRunner {
  readonly hooks: ClusterAgentHooks;
  setApps(apps: readonly PlacementApp[]): void;
  view(): PlacementView;
  rebalance(app: string): Promise<{ app: string; leader?: string; done: boolean; moves: Change[] }>;
  stop(): void;
}

export function createPlacementRunner(deps: PlacementRunnerDeps): PlacementRunner {
  const { prefix, self, client } = deps;
  const now = deps.now ?? Date.now;
  let apps: readonly PlacementApp[] = [];
  const allocs = new Map<string, AllocationRecord>();
  const statuses = new Map<string, AppStatusRecord>();
  /** The last revision applied per key (deletes too), so replayed history never rolls a key back. */
  const keyRev = new Map<string, bigint>();
  let floor = 0n;
  let leader: (LeaderRecord & { createRevision: string; lease: string }) | undefined;
  let lease: string | undefined;
  let ready = false;
  let renewedAt: number | undefined;
  let term: string | undefined;
  let lastPass: number | undefined;
  const goneSince = new Map<string, number>();
  const rebalanceWanted = new Set<string>();
  const rebalanceWaiters: Array<{ app: string; resolve: (moves: Change[]) => void }> = [];
  let passTimer: ReturnType<typeof setTimeout> | undefined;
  let wakeTimer: ReturnType<typeof setTimeout> | undefined;
  let passing: Promise<void> | undefined;
  let passAgain = false;
  let lastSlots = "";
  let stopped = false;
  /** The agent read the whole prefix in this session (onFull): placement's own read at session start is not needed. */
  let fullRead = false;
  /** Unplaceable slots already reported (an event each time one becomes unplaceable, not each pass). */
  let reportedUnplaceable = new Set<string>();

  const mySlots = () => {
    const out: Record<string, number[]> = {};
    for (const a of allocs.values()) if (a.node === self) (out[a.app] ??= []).push(a.slot);
    for (const l of Object.values(out)) l.sort((x, y) => x - y);
    return out;
  };
  const reportSlots = (force: boolean) => {
    if (!ready || renewedAt === undefined) return;
    const slots = mySlots();
    const text = JSON.stringify(slots);
    if (!force && text === lastSlots) return;
    lastSlots = text;
    deps.send({ t: "cluster.slots", slots, renewedAt });
  };

  const applyKey = (key: string, value: string | undefined, rev: string, createRevision?: string, keyLease?: string) => {
    const k = parsePlacementKey(prefix, key);
    if (k.kind === "other") {
      if (key.startsWith(`${prefix}/rebalance/`) && value !== undefined && term) {
        rebalanceWanted.add(key.slice(`${prefix}/rebalance/`.length));
        schedulePass();
      }
      return false;
    }
    const r = BigInt(rev);
    if (r <= floor || r <= (keyRev.get(key) ?? -1n)) return false;
    keyRev.set(key, r);
    if (k.kind === "leader") {
      if (value === undefined) {
        const was = leader;
        leader = undefined;
        if (term) stepDown("the leader key was deleted");
        if (was) deps.log("info", "placement leader gone", { node: was.node });
        void campaign();
        return true;
      }
      const d = decodeLeader(value);
      if (!d.ok) deps.log("warn", "skipped an invalid leader record", { key, reason: d.reason });
      else leader = { ...d.value, createRevision: createRevision ?? leader?.createRevision ?? "0", lease: keyLease ?? leader?.lease ?? "0" };
      if (term && leader?.createRevision !== term) stepDown(`the leader key now belongs to ${leader?.node ?? "nobody"}`);
      return true;
    }
    if (k.kind === "alloc") {
      if (value === undefined) allocs.delete(key);
      else {
        const d = decodeAllocation(value, k.app, k.slot);
        if (d.ok) allocs.set(key, d.value);
        else deps.log("warn", "skipped an invalid allocation record", { key, reason: d.reason });
      }
      return true;
    }
    if (value === undefined) statuses.delete(k.app);
    else {
      const d = decodeStatus(value, k.app);
      if (d.ok) statuses.set(k.app, d.value);
      else {
        statuses.delete(k.app);
        deps.log("warn", "skipped an invalid placement status record", { key, reason: d.reason });
      }
    }
    return false;
  };

  const replaceAll = (kvs: readonly KeyValue[], revision: string) => {
    allocs.clear();
    statuses.clear();
    keyRev.clear();
    leader = undefined;
    floor = 0n;
    for (const kv of kvs) applyKey(kv.key, kv.value, kv.modRevision, kv.createRevision, kv.lease);
    floor = BigInt(revision);
  };

  const stepDown = (why: string) => {
    if (!term) return;
    deps.log("warn", "stepped down as placement leader", { term, why });
    deps.send({ t: "cluster.event", type: "cluster.leader.lost", severity: "warning", message: `${self} is no longer the placement leader: ${why}`, data: { node: self, term } });
    term = undefined;
    clearTimeout(wakeTimer);
  };

  const become = (t: string) => {
    term = t;
    deps.log("info", "became the placement leader", { term: t });
    deps.send({ t: "cluster.event", type: "cluster.leader.elected", severity: "info", message: `${self} is the placement leader (term ${t})`, data: { node: self, term: t } });
    schedulePass();
  };

  let campaigning = false;
  const campaign = async () => {
    // An agent whose config has no cluster apps never leads: its passes would remove every other app's slots.
    if (campaigning || stopped || !lease || !ready || apps.length === 0) return;
    campaigning = true;
    try {
      const key = leaderKey(prefix);
      if (leader) {
        // Our own key from before (this node's earlier run or lease): adopt it under the current lease, fenced on
        // the revision that created it.
        if (leader.node === self && !term) {
          const since = now();
          const r = await client.txn([{ key, target: "CREATE", createRevision: leader.createRevision }], [{ put: { key, value: JSON.stringify({ node: self, since }), lease } }]);
          if (r.succeeded) {
            leader = { node: self, since, createRevision: leader.createRevision, lease };
            become(leader.createRevision);
          }
        }
        return;
      }
      const since = now();
      const r = await client.txn([{ key, target: "CREATE", createRevision: "0" }], [{ put: { key, value: JSON.stringify({ node: self, since }), lease } }]);
      if (r.succeeded) {
        keyRev.set(key, BigInt(r.revision));
        leader = { node: self, since, createRevision: r.revision, lease };
        become(r.revision);
      } else {
        const cur = await client.range(key);
        const kv = cur.kvs[0];
        if (kv) applyKey(kv.key, kv.value, kv.modRevision, kv.createRevision, kv.lease);
      }
    } catch (e) {
      deps.log("debug", "placement campaign failed; the session retries", { error: (e as Error).message });
    } finally {
      campaigning = false;
    }
  };

  const schedulePass = () => {
    if (!term || stopped || passTimer) return;
    passTimer = setTimeout(() => {
      passTimer = undefined;
      runPass();
    }, PASS_DEBOUNCE_MS);
  };

  const runPass = () => {
    if (passing) {
      passAgain = true;
      return;
    }
    passing = (async () => {
      do {
        passAgain = false;
        if (!term || !lease) return;
        try {
          await pass(term);
        } catch (e) {
          // etcd slow or away: the same pass again shortly (the session ends on its own if etcd is gone).
          deps.log("warn", "placement pass failed; retrying", { error: (e as Error).message });
          clearTimeout(wakeTimer);
          wakeTimer = setTimeout(runPass, PASS_RETRY_MS);
          return;
        }
      } while (passAgain && term);
    })().finally(() => {
      passing = undefined;
    });
  };

  const nodesNow = (at: number): PlacementNode[] => {
    const out: PlacementNode[] = [];
    const known = new Set<string>();
    for (const m of deps.members()) {
      known.add(m.name);
      const state = m.status === "alive" ? "alive" : m.status === "suspect" ? "suspect" : "gone";
      out.push({
        name: m.name,
        zone: m.zone,
        labels: m.labels ?? {},
        cores: m.capacity.cores,
        memoryBytes: m.capacity.memoryBytes,
        load1: m.capacity.load1,
        freePorts: m.capacity.freePorts,
        state,
        since: state === "gone" ? m.lastSeen : 0,
        ...(m.status === "left" || m.leaving ? { left: true } : {}),
        ...(m.apps ? { apps: m.apps } : {}),
      });
    }
    // A node named by allocations that this leader never saw (it went before this agent started): gone since the
    // leader first noticed, so it still waits the reschedule delay.
    for (const a of allocs.values()) {
      if (known.has(a.node)) continue;
      known.add(a.node);
      if (!goneSince.has(a.node)) goneSince.set(a.node, at);
      out.push({ name: a.node, zone: "", labels: {}, cores: 0, memoryBytes: 0, load1: 0, freePorts: 0, state: "gone", since: goneSince.get(a.node)! });
    }
    for (const n of goneSince.keys()) if (!known.has(n) || out.some((o) => o.name === n && o.state !== "gone")) goneSince.delete(n);
    return out;
  };

  const pass = async (t: string) => {
    const at = now();
    const wanted = new Set(rebalanceWanted);
    rebalanceWanted.clear();
    try {
      await write(t, at, wanted);
    } catch (e) {
      // A rebalance asked for is not lost with a failed write: the retry does it.
      for (const w of wanted) rebalanceWanted.add(w);
      throw e;
    }
  };

  const write = async (t: string, at: number, wanted: Set<string>) => {
    const current = [...allocs.values()];
    const r = place({ apps, nodes: nodesNow(at), allocations: current, rebalance: wanted }, at);
    const ops: TxnOp[] = [];
    const puts = new Map<string, AllocationRecord>();
    const desired = new Set<string>();
    for (const a of r.allocations) {
      const key = allocKey(prefix, a.app, a.slot);
      desired.add(key);
      const old = allocs.get(key);
      if (old && sameAllocation(old, a)) continue;
      puts.set(key, { ...a, term: t });
      ops.push({ put: { key, value: encodeAllocation(a, t) } });
    }
    const deletes: string[] = [];
    for (const key of allocs.keys()) if (!desired.has(key)) {
      deletes.push(key);
      ops.push({ delete: { key } });
    }
    const statusPuts = new Map<string, AppStatusRecord>();
    for (const app of apps) {
      const mine = r.allocations.filter((a) => a.app === app.name).length;
      const rec: AppStatusRecord = { app: app.name, spec: app, placed: mine, unplaceable: r.unplaceable.filter((u) => u.app === app.name), pending: r.pending.filter((p) => p.app === app.name).length, term: t, at };
      const old = statuses.get(app.name);
      const same = old && JSON.stringify({ ...old, at: 0, term: "" }) === JSON.stringify({ ...rec, at: 0, term: "" });
      if (!same) {
        statusPuts.set(app.name, rec);
        ops.push({ put: { key: statusKey(prefix, app.name), value: JSON.stringify(rec) } });
      }
    }
    for (const name of statuses.keys()) if (!apps.some((a) => a.name === name)) ops.push({ delete: { key: statusKey(prefix, name) } });
    for (const w of wanted) ops.push({ delete: { key: rebalanceKey(prefix, w) } });

    for (let i = 0; i < ops.length; i += TXN_OPS) {
      const res = await client.txn([{ key: leaderKey(prefix), target: "CREATE", createRevision: t }], ops.slice(i, i + TXN_OPS));
      if (!res.succeeded) {
        stepDown(`an allocation write was refused: the leader key is no longer term ${t}`);
        const cur = await client.range(leaderKey(prefix));
        const kv = cur.kvs[0];
        if (kv) applyKey(kv.key, kv.value, kv.modRevision, kv.createRevision, kv.lease);
        return;
      }
      // Applied at once with the txn's revision: the watch echo of these writes is then a no-op.
      const rev = BigInt(res.revision);
      for (const op of ops.slice(i, i + TXN_OPS)) {
        const key = "put" in op ? op.put.key : op.delete.key;
        keyRev.set(key, rev);
        const p = puts.get(key);
        if (p) allocs.set(key, p);
        else if ("delete" in op && allocs.has(key)) allocs.delete(key);
        const k = parsePlacementKey(prefix, key);
        if (k.kind === "status") {
          const s = statusPuts.get(k.app);
          if (s) statuses.set(k.app, s);
          else statuses.delete(k.app);
        }
      }
    }
    lastPass = at;
    const unplaced = new Set<string>();
    for (const c of r.changes) {
      const placed = c.to !== undefined;
      if (!placed && (c.why === Why.SCALED_DOWN || c.why === Why.APP_REMOVED)) {
        deps.send({ t: "cluster.event", type: "cluster.slot.removed", severity: "info", message: c.message, data: { app: c.app, slot: c.slot, ...(c.from ? { node: c.from } : {}), why: c.why } });
        continue;
      }
      if (!placed) continue;
      deps.send({ t: "cluster.event", type: c.from ? "cluster.slot.moved" : "cluster.slot.placed", severity: c.why === Why.NODE_GONE ? "warning" : "info", message: c.message, data: { app: c.app, slot: c.slot, node: c.to, ...(c.from ? { from: c.from } : {}), why: c.why } });
    }
    for (const u of r.unplaceable) {
      const id = slotId(u.app, u.slot);
      unplaced.add(id);
      if (!reportedUnplaceable.has(id)) deps.send({ t: "cluster.event", type: "cluster.slot.unplaceable", severity: "critical", message: `${id} cannot be placed: ${u.reason}`, data: { app: u.app, slot: u.slot, reason: u.reason, filtered: u.filtered } });
    }
    for (const id of reportedUnplaceable) if (!unplaced.has(id)) {
      const [app, slot] = id.split("/");
      deps.send({ t: "cluster.event", type: "cluster.slot.placeable", severity: "info", message: `${id} is placed again`, data: { app, slot: Number(slot) } });
    }
    reportedUnplaceable = unplaced;
    for (const w of rebalanceWaiters.splice(0)) w.resolve(r.changes.filter((c) => c.app === w.app && c.why === Why.REBALANCE));
    clearTimeout(wakeTimer);
    if (r.wakeAt !== undefined) wakeTimer = setTimeout(runPass, Math.max(0, r.wakeAt - now()) + 5);
    if (puts.size > 0 || deletes.length > 0) reportSlots(false);
  };

  const hooks: ClusterAgentHooks = {
    nodeExtra: () => ({ ...(Object.keys(deps.labels).length > 0 ? { labels: deps.labels } : {}), apps: apps.map((a) => a.name) }),
    onFull(kvs, revision) {
      fullRead = true;
      replaceAll(kvs, revision);
      reportSlots(false);
      schedulePass();
    },
    onEvents(events: readonly WatchEvent[]) {
      let changed = false;
      let nodes = false;
      for (const e of events) {
        if (e.key.startsWith(`${prefix}/nodes/`)) nodes = true;
        if (applyKey(e.key, e.type === "put" ? e.value : undefined, e.modRevision, e.type === "put" ? e.createRevision : undefined)) changed = true;
      }
      if (changed) reportSlots(false);
      if (changed || nodes) schedulePass();
    },
    async onSession(l, _signal) {
      lease = l;
      // Read what placement holds now, unless the agent's full read of this session just did (a session on the same
      // store skips it); a watch replay of older history is then ignored below this revision.
      if (!fullRead) {
        const [a, s, ld] = await Promise.all([client.range(allocPrefix(prefix), { prefix: true }), client.range(statusPrefix(prefix), { prefix: true }), client.range(leaderKey(prefix))]);
        const rev = [a.revision, s.revision, ld.revision].reduce((x, y) => (BigInt(x) > BigInt(y) ? x : y));
        replaceAll([...a.kvs, ...s.kvs, ...ld.kvs], rev);
      }
      ready = true;
      reportSlots(true);
      void campaign();
    },
    onSessionEnd() {
      lease = undefined;
      ready = false;
      fullRead = false;
      // Without a session this agent cannot write; if its lease outlives the outage it takes the key back.
      if (term) {
        term = undefined;
        clearTimeout(wakeTimer);
      }
    },
    onRenewed(sentAt) {
      renewedAt = sentAt;
      reportSlots(true);
    },
  };

  const leaderView = (): LeaderView => ({
    ...(leader ? { node: leader.node, since: leader.since, term: leader.createRevision } : {}),
    self: term !== undefined,
    connected: ready,
    ...(lastPass !== undefined && term ? { lastPass } : {}),
  });

  return {
    hooks,
    setApps(next) {
      apps = next;
      schedulePass();
      if (!term && !leader) void campaign();
    },
    view() {
      const list: AppStatusRecord[] = [...statuses.values()];
      for (const a of apps) if (!statuses.has(a.name)) list.push({ app: a.name, spec: a, placed: [...allocs.values()].filter((x) => x.app === a.name).length, unplaceable: [], pending: 0, term: "", at: 0 });
      list.sort((x, y) => x.app.localeCompare(y.app));
      const allocations = [...allocs.values()].sort((x, y) => x.app.localeCompare(y.app) || x.slot - y.slot);
      return { leader: leaderView(), apps: list, allocations };
    },
    async rebalance(app) {
      if (term) {
        const moves = new Promise<Change[]>((resolve) => rebalanceWaiters.push({ app, resolve }));
        rebalanceWanted.add(app);
        runPass();
        return { app, leader: self, done: true, moves: await moves };
      }
      if (!lease) throw Object.assign(new Error("no etcd session: the rebalance cannot reach the leader"), { code: "unavailable" });
      await client.put(rebalanceKey(prefix, app), JSON.stringify({ by: self, at: now() }), lease);
      return { app, ...(leader ? { leader: leader.node } : {}), done: false, moves: [] };
    },
    stop() {
      stopped = true;
      clearTimeout(passTimer);
      clearTimeout(wakeTimer);
      for (const w of rebalanceWaiters.splice(0)) w.resolve([]);
    },
  };
}
