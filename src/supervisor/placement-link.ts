// Supervisor side of cluster placement: the slots etcd assigns this node become the replica counts of its cluster
// apps (procs runs them as any app: health, balancing, deployments, adoption unchanged). The counts are persisted
// before procs is told, and fenced by lease timing (src/core/placement/fence.ts): once the cluster worker has not
// reported a lease renewal for TTL - margin, every cluster app here goes to 0 replicas until it reports again.
//
//   unfenced --no renewal by the deadline--> fenced (cluster apps at 0) --a renewal with fresh slots--> unfenced
//
// At start the persisted counts are used only while their renewal is still within the deadline (a quick restart or
// a takeover adopts its replicas); otherwise cluster apps start at 0 until the worker has read the allocations.
import { fenceDeadline } from "../core/placement/fence.ts";
import type { PlacementApp } from "../core/placement/types.ts";
import { isClusterApp, toPlacementApp } from "../config/placement.ts";
import type { Config } from "../config/schema.ts";
import type { FromCluster, ToCluster } from "../protocol/cluster.ts";
import type { EventInput } from "../state/event-bus.ts";
import { StoreError } from "../state/store-fault.ts";
import type { Store } from "../state/store.ts";

const KV = "cluster.slots";

interface Persisted {
  readonly slots: Record<string, number[]>;
  readonly renewedAt: number;
}

export interface PlacementLinkDeps {
  config(): Config;
  readonly ttlSeconds: number;
  readonly node: string;
  readonly store: Pick<Store, "getKv" | "putKv">;
  publish(e: EventInput): void;
  send(msg: ToCluster): void;
  /** Re-applies the app specs to procs (a slot count changed). */
  applyProcs(): void;
  readonly now?: () => number;
}

export interface PlacementLink {
  handle(msg: FromCluster): boolean;
  /** The replica count of a cluster app on this node (0 while fenced); undefined for an app that is not one. */
  slotsOf(app: string): number | undefined;
  apps(): PlacementApp[];
  /** After a reload: the cluster worker gets the new cluster apps. */
  reload(): void;
  fenced(): boolean;
  stop(): void;
}

export function createPlacementLink(deps: PlacementLinkDeps): PlacementLink {
  const now = deps.now ?? Date.now;
  const saved = (() => {
    try {
      return deps.store.getKv<Persisted>(KV);
    } catch {
      return undefined;
    }
  })();
  let slots: Record<string, number[]> = saved?.slots ?? {};
  let renewedAt = saved?.renewedAt ?? 0;
  let fenced = fenceDeadline(renewedAt, deps.ttlSeconds) <= now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastApps = "";

  const apps = () => deps.config().apps.filter(isClusterApp).map(toPlacementApp);

  const arm = () => {
    clearTimeout(timer);
    if (fenced) return;
    timer = setTimeout(fence, Math.max(0, fenceDeadline(renewedAt, deps.ttlSeconds) - now()));
  };
  const fence = () => {
    if (fenced) return;
    fenced = true;
    const running = Object.entries(slots).filter(([, s]) => s.length > 0);
    deps.publish({ type: "cluster.fenced", source: "cluster", target: deps.node, severity: "warning", message: `no etcd lease renewal for ${deps.ttlSeconds}s minus the fencing margin: stopping this node's cluster slots (${running.map(([a, s]) => `${a} ×${s.length}`).join(", ") || "none"}) before another node can take them over`, data: { renewedAt } });
    deps.applyProcs();
  };
  arm();

  return {
    handle(msg) {
      if (msg.t !== "cluster.slots") return false;
      const text = JSON.stringify(msg.slots);
      const changed = text !== JSON.stringify(slots);
      const wasFenced = fenced;
      slots = { ...msg.slots } as Record<string, number[]>;
      renewedAt = msg.renewedAt;
      fenced = fenceDeadline(renewedAt, deps.ttlSeconds) <= now();
      // Persisted before procs acts on it: a restart within the deadline adopts rather than stops.
      try {
        deps.store.putKv(KV, { slots, renewedAt } satisfies Persisted);
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
      }
      arm();
      if (wasFenced && !fenced) deps.publish({ type: "cluster.unfenced", source: "cluster", target: deps.node, severity: "info", message: "etcd lease renewed and allocations read again: running this node's cluster slots", data: { slots } });
      if (changed || wasFenced !== fenced) deps.applyProcs();
      return true;
    },
    slotsOf(app) {
      const a = deps.config().apps.find((x) => x.name === app);
      if (!a || !isClusterApp(a)) return undefined;
      return fenced ? 0 : (slots[app]?.length ?? 0);
    },
    apps,
    reload() {
      const list = apps();
      const text = JSON.stringify(list);
      if (text === lastApps) return;
      lastApps = text;
      deps.send({ t: "cluster.placement", apps: list });
    },
    fenced: () => fenced,
    stop() {
      clearTimeout(timer);
    },
  };
}
