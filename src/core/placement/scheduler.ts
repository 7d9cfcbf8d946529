// The cluster placement scheduler: turns cluster apps into slots and assigns each slot to a node. Pure: the leader
// (src/cluster/leader.ts) feeds it what etcd holds and writes back what it returns.
//
// Rules, per app, in order:
// 1. Slots are numbered 0..replicas-1; an allocation of a higher slot is removed (scale-down), as is every
//    allocation of an app no longer defined.
// 2. An allocation stays where it is while its node is alive and still passes the app's static filters (alive,
//    defines the app, label constraints) and max_per_node. Stability: a healthy slot never moves to even the
//    spread out, unless the operator asks for a rebalance of that app.
// 3. A slot on a node that left gracefully moves at once. One on a node that is gone (lease expired) waits the
//    reschedule delay first (a blip moves nothing): delay × 2^reschedules, capped at max_delay, where
//    reschedules counts the slot's moves in a row that each ended within RESCHEDULE_STABLE_MS. A slot on a
//    suspect node stays (the leader cannot tell).
// 4. Each free slot goes to the best node that passes every filter, by the app's spread: zone (fewest of the
//    app's slots in the node's zone, then on the node), node (fewest on the node), none (pack: most on the node);
//    then lowest load per core, then name, so a pass is deterministic.
// 5. A slot no node can take is reported unplaceable with the count of nodes each filter ruled out.
// Cost: O(slots × eligible nodes) per pass; 1,000 slots × 100 nodes is ~100k cheap comparisons.
import { capacityFilter, describeFiltered, type NodeUse, staticFilter } from "./filters.ts";
import { type Allocation, type Change, type Pending, type PlacementApp, type PlacementInput, type PlacementNode, type PlacementResult, type Unplaceable, Why } from "./types.ts";

/** A placement that lasted this long was stable: the next reschedule of the slot starts from the base delay again. */
export const RESCHEDULE_STABLE_MS = 10 * 60_000;

/** The wait before a slot on a gone node moves. */
export function rescheduleDelay(app: Pick<PlacementApp, "rescheduleDelayMs" | "rescheduleMaxDelayMs">, reschedules: number): number {
  const d = app.rescheduleDelayMs * 2 ** Math.min(reschedules, 30);
  return Math.min(Math.max(app.rescheduleMaxDelayMs, app.rescheduleDelayMs), d);
}

interface Working {
  readonly node: PlacementNode;
  readonly use: NodeUse;
}

const loadPerCore = (n: PlacementNode) => n.load1 / Math.max(1, n.cores);

export function place(input: PlacementInput, now: number): PlacementResult {
  const nodes = new Map<string, Working>();
  for (const n of input.nodes) nodes.set(n.name, { node: n, use: { cpu: 0, memory: 0, ports: 0 } });
  const appsByName = new Map(input.apps.map((a) => [a.name, a]));
  const byApp = new Map<string, Allocation[]>();
  for (const a of input.allocations) {
    let list = byApp.get(a.app);
    if (!list) byApp.set(a.app, (list = []));
    list.push(a);
  }

  const out: Allocation[] = [];
  const changes: Change[] = [];
  const unplaceable: Unplaceable[] = [];
  const pending: Pending[] = [];
  let wakeAt: number | undefined;

  for (const [app, list] of byApp) {
    if (appsByName.has(app)) continue;
    for (const a of list) changes.push({ app, slot: a.slot, from: a.node, why: Why.APP_REMOVED, message: `${app}/${a.slot} removed from ${a.node}: ${app} is no longer a cluster app` });
  }

  // Allocations already kept consume capacity before anything new is placed, across apps.
  const keptByApp = new Map<string, Allocation[]>();
  const freeByApp = new Map<string, Array<{ slot: number; prev?: Allocation; why: Why }>>();
  const counts = new Map<string, Map<string, number>>();
  const countOf = (app: string) => {
    let m = counts.get(app);
    if (!m) counts.set(app, (m = new Map()));
    return m;
  };
  const take = (app: PlacementApp, w: Working) => {
    w.use.cpu += app.cpu;
    w.use.memory += app.memoryBytes;
    if (app.ports) w.use.ports++;
    const m = countOf(app.name);
    m.set(w.node.name, (m.get(w.node.name) ?? 0) + 1);
  };
  const give = (app: PlacementApp, w: Working) => {
    w.use.cpu -= app.cpu;
    w.use.memory -= app.memoryBytes;
    if (app.ports) w.use.ports--;
    const m = countOf(app.name);
    m.set(w.node.name, (m.get(w.node.name) ?? 1) - 1);
  };

  for (const app of input.apps) {
    const kept: Allocation[] = [];
    const free: Array<{ slot: number; prev?: Allocation; why: Why }> = [];
    const seen = new Set<number>();
    const list = (byApp.get(app.name) ?? []).slice().sort((a, b) => a.slot - b.slot);
    for (const a of list) {
      if (seen.has(a.slot)) continue;
      seen.add(a.slot);
      if (a.slot >= app.replicas) {
        changes.push({ app: app.name, slot: a.slot, from: a.node, why: Why.SCALED_DOWN, message: `${app.name}/${a.slot} removed from ${a.node}: scaled down to ${app.replicas}` });
        continue;
      }
      const w = nodes.get(a.node);
      const n = w?.node;
      if (!n || n.state === "gone" || n.left) {
        if (n?.left) {
          free.push({ slot: a.slot, prev: a, why: Why.NODE_LEFT });
          continue;
        }
        const until = (n?.since ?? Number.NEGATIVE_INFINITY) + rescheduleDelay(app, a.reschedules);
        if (now >= until) {
          free.push({ slot: a.slot, prev: a, why: Why.NODE_GONE });
          continue;
        }
        pending.push({ app: app.name, slot: a.slot, node: a.node, until });
        wakeAt = wakeAt === undefined ? until : Math.min(wakeAt, until);
        kept.push(a);
        continue;
      }
      if (n.state === "suspect") {
        kept.push(a);
        take(app, w!);
        continue;
      }
      const f = staticFilter(app, n);
      if (f !== undefined) {
        free.push({ slot: a.slot, prev: a, why: f === "app not in its config" ? Why.APP_NOT_ON_NODE : Why.CONSTRAINT_CHANGED });
        continue;
      }
      if (app.maxPerNode !== undefined && (countOf(app.name).get(n.name) ?? 0) >= app.maxPerNode) {
        free.push({ slot: a.slot, prev: a, why: Why.OVER_MAX_PER_NODE });
        continue;
      }
      kept.push(a);
      take(app, w!);
    }
    for (let s = 0; s < app.replicas; s++) if (!seen.has(s)) free.push({ slot: s, why: Why.PLACED });
    keptByApp.set(app.name, kept);
    freeByApp.set(app.name, free);
  }

  for (const app of input.apps) {
    const kept = keptByApp.get(app.name)!;
    const free = freeByApp.get(app.name)!;
    const eligible: Working[] = [];
    const staticFiltered: Record<string, number> = {};
    for (const w of nodes.values()) {
      const f = staticFilter(app, w.node);
      if (f === undefined) eligible.push(w);
      else staticFiltered[f] = (staticFiltered[f] ?? 0) + 1;
    }
    const count = countOf(app.name);
    const zoneCount = new Map<string, number>();
    for (const a of kept) {
      const w = nodes.get(a.node);
      if (w && w.node.state !== "gone" && !w.node.left) zoneCount.set(w.node.zone, (zoneCount.get(w.node.zone) ?? 0) + 1);
    }
    const placed = new Map<number, Allocation>();
    for (const a of kept) placed.set(a.slot, a);

    // The hot loop reads counts from arrays indexed like `eligible` rather than the maps (1,000 slots × 100 nodes).
    const n = eligible.length;
    const onNode = new Int32Array(n);
    const zoneOf: string[] = new Array(n);
    const load = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const w = eligible[i]!;
      onNode[i] = count.get(w.node.name) ?? 0;
      zoneOf[i] = w.node.zone;
      load[i] = loadPerCore(w.node);
    }
    const pack = app.spread === "none";
    const byZone = app.spread === "zone";
    for (const f of free) {
      let bi = -1;
      let bz = 0;
      for (let i = 0; i < n; i++) {
        const w = eligible[i]!;
        if (capacityFilter(app, w.node, w.use, onNode[i]!) !== undefined) continue;
        const z = byZone ? (zoneCount.get(zoneOf[i]!) ?? 0) : 0;
        if (bi >= 0) {
          if (z !== bz) {
            if (z > bz) continue;
          } else if (onNode[i] !== onNode[bi]) {
            if (pack ? onNode[i]! < onNode[bi]! : onNode[i]! > onNode[bi]!) continue;
          } else if (load[i] !== load[bi]) {
            if (load[i]! > load[bi]!) continue;
          } else if (w.node.name > eligible[bi]!.node.name) continue;
        }
        bi = i;
        bz = z;
      }
      const best = bi >= 0 ? eligible[bi] : undefined;
      if (bi >= 0) onNode[bi]!++;
      if (!best) {
        const filtered: Record<string, number> = { ...staticFiltered };
        for (const w of eligible) {
          const c = capacityFilter(app, w.node, w.use, count.get(w.node.name) ?? 0)!;
          filtered[c] = (filtered[c] ?? 0) + 1;
        }
        const reason = describeFiltered(filtered, nodes.size);
        unplaceable.push({ app: app.name, slot: f.slot, reason, filtered });
        changes.push({ app: app.name, slot: f.slot, ...(f.prev ? { from: f.prev.node } : {}), why: f.why, message: `${app.name}/${f.slot} unplaceable: ${reason}` });
        continue;
      }
      take(app, best);
      zoneCount.set(best.node.zone, (zoneCount.get(best.node.zone) ?? 0) + 1);
      const prev = f.prev;
      const lasted = prev ? nodes.get(prev.node)?.node.since ?? now : now;
      const reschedules = f.why === Why.NODE_GONE && prev ? (lasted - prev.placedAt < RESCHEDULE_STABLE_MS ? prev.reschedules + 1 : 1) : 0;
      const a: Allocation = { app: app.name, slot: f.slot, node: best.node.name, generation: (prev?.generation ?? 0) + 1, reschedules, placedAt: now };
      placed.set(f.slot, a);
      changes.push({ app: app.name, slot: f.slot, ...(prev ? { from: prev.node } : {}), to: best.node.name, why: f.why, message: moveMessage(app.name, f.slot, prev?.node, best.node.name, f.why) });
    }

    if (input.rebalance?.has(app.name)) rebalance(app, placed, nodes, eligible, count, zoneCount, changes, now, give, take);
    for (const s of [...placed.keys()].sort((x, y) => x - y)) out.push(placed.get(s)!);
  }
  out.sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : a.slot - b.slot));
  return { allocations: out, changes, unplaceable, pending, ...(wakeAt !== undefined ? { wakeAt } : {}) };
}

function moveMessage(app: string, slot: number, from: string | undefined, to: string, why: Why): string {
  const s = `${app}/${slot}`;
  switch (why) {
    case Why.PLACED: return `${s} placed on ${to}`;
    case Why.NODE_GONE: return `${s} moved from ${from} to ${to}: ${from} is gone (lease expired)`;
    case Why.NODE_LEFT: return `${s} moved from ${from} to ${to}: ${from} left the cluster`;
    case Why.CONSTRAINT_CHANGED: return `${s} moved from ${from} to ${to}: ${from} no longer meets the constraints`;
    case Why.APP_NOT_ON_NODE: return `${s} moved from ${from} to ${to}: ${from} does not define the app`;
    case Why.OVER_MAX_PER_NODE: return `${s} moved from ${from} to ${to}: ${from} holds more than max_per_node`;
    default: return `${s} moved from ${from} to ${to}: ${why}`;
  }
}

/** The ordering of candidate nodes for a free slot of the app (true when `a` is better than `b`). */
function betterFor(app: PlacementApp, count: Map<string, number>, zoneCount: Map<string, number>) {
  return function better(a: Working, b: Working): boolean {
    const ca = count.get(a.node.name) ?? 0;
    const cb = count.get(b.node.name) ?? 0;
    if (app.spread === "zone") {
      const za = zoneCount.get(a.node.zone) ?? 0;
      const zb = zoneCount.get(b.node.zone) ?? 0;
      if (za !== zb) return za < zb;
    }
    if (ca !== cb) return app.spread === "none" ? ca > cb : ca < cb;
    const la = loadPerCore(a.node);
    const lb = loadPerCore(b.node);
    if (la !== lb) return la < lb;
    return a.node.name < b.node.name;
  };
}

/**
 * Moves slots, one at a time, from the fullest node (or zone) to the emptiest eligible one while that narrows the
 * spread by more than one slot: the fewest moves that even the app out. Spread none has nothing to even out.
 */
function rebalance(
  app: PlacementApp,
  placed: Map<number, Allocation>,
  nodes: Map<string, Working>,
  eligible: Working[],
  count: Map<string, number>,
  zoneCount: Map<string, number>,
  changes: Change[],
  now: number,
  give: (app: PlacementApp, w: Working) => void,
  take: (app: PlacementApp, w: Working) => void,
) {
  if (app.spread === "none") return;
  const key = (w: Working) => (app.spread === "zone" ? (zoneCount.get(w.node.zone) ?? 0) : (count.get(w.node.name) ?? 0));
  const better = betterFor(app, count, zoneCount);
  for (let guard = 0; guard < app.replicas; guard++) {
    // The fullest group holding a movable slot (on an alive node), its fullest node, and that node's highest slot.
    let src: Allocation | undefined;
    let srcKey = -1;
    for (const a of placed.values()) {
      const w = nodes.get(a.node);
      if (!w || w.node.state !== "alive") continue;
      const k = key(w);
      const better2 = k > srcKey || (k === srcKey && src !== undefined && ((count.get(a.node) ?? 0) > (count.get(src.node) ?? 0) || ((count.get(a.node) ?? 0) === (count.get(src.node) ?? 0) && a.slot > src.slot)));
      if (better2) {
        src = a;
        srcKey = k;
      }
    }
    if (!src) return;
    const from = nodes.get(src.node)!;
    let dst: Working | undefined;
    for (const w of eligible) {
      if (w === from) continue;
      if (app.spread === "zone" && w.node.zone === from.node.zone) continue;
      if (capacityFilter(app, w.node, w.use, count.get(w.node.name) ?? 0) !== undefined) continue;
      if (!dst || better(w, dst)) dst = w;
    }
    if (!dst || key(dst) + 1 >= srcKey) return;
    give(app, from);
    if (app.spread === "zone") zoneCount.set(from.node.zone, (zoneCount.get(from.node.zone) ?? 1) - 1);
    take(app, dst);
    if (app.spread === "zone") zoneCount.set(dst.node.zone, (zoneCount.get(dst.node.zone) ?? 0) + 1);
    placed.set(src.slot, { app: app.name, slot: src.slot, node: dst.node.name, generation: src.generation + 1, reschedules: 0, placedAt: now });
    changes.push({ app: app.name, slot: src.slot, from: src.node, to: dst.node.name, why: Why.REBALANCE, message: `${app.name}/${src.slot} moved from ${src.node} to ${dst.node.name}: rebalance requested` });
  }
}
