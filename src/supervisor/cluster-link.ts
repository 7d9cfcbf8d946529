// Supervisor side of the cluster worker: pushes this node's endpoints (derived from the catalog's local layer on
// every change) and applies what the worker reports of other nodes to the catalog's remote layer; keeps the last
// status for the API, /readyz and metrics; turns worker events into bus events.
import { isSegment } from "../core/cluster/records.ts";
import { replicaHost } from "../config/apps.ts";
import type { Config } from "../config/schema.ts";
import type { ClusterEndpoint, ClusterInit, ClusterSpec, ClusterStatus, FromCluster, PlacementApp, SharedRecord, ToCluster } from "../protocol/cluster.ts";
import { type Catalog, remoteEndpointId } from "../state/catalog.ts";
import { APP_NAMESPACE } from "./hub.ts";
import type { EventInput } from "../state/event-bus.ts";

export interface ClusterLinkDeps {
  config(): Config;
  readonly spec: ClusterSpec;
  readonly catalog: Pick<Catalog, "list" | "onChange" | "applyRemote">;
  publish(e: EventInput): void;
  send(msg: ToCluster): void;
  /** The config's cluster apps (placement), for the worker's init. */
  placementApps?(): PlacementApp[];
  /** The cluster-wide config as etcd holds it now (null: none), to lay under this agent's own config. */
  onSharedConfig?(record: SharedRecord | null, revision: string): void;
}

export interface ClusterLink {
  state(): ClusterInit;
  handle(msg: FromCluster): boolean;
  /** The last status the worker reported (undefined before its first). */
  status(): ClusterStatus | undefined;
  readonly node: string;
  readonly zone: string;
}

/** An address only this host can reach: published, it would send other nodes to their own loopback. */
const isLoopback = (a: string) => a.startsWith("127.") || a === "::1" || a === "localhost";

export function createClusterLink(deps: ClusterLinkDeps): ClusterLink {
  const { name: node, zone } = deps.spec.node;
  let last: ClusterStatus | undefined;
  let lastSent = "";
  let scheduled = false;

  /** This node's endpoints: every local-layer endpoint of a local service that another node can reach. */
  const localEndpoints = (): ClusterEndpoint[] => {
    const host = replicaHost(deps.config());
    const out: ClusterEndpoint[] = [];
    for (const s of deps.catalog.list()) {
      if (s.source === "cluster" || !isSegment(s.namespace) || !isSegment(s.name)) continue;
      for (const e of s.endpoints) {
        if (e.node !== undefined || !isSegment(e.id)) continue;
        if (isLoopback(e.address) && e.address !== host) continue;
        out.push({
          node,
          zone,
          namespace: s.namespace,
          service: s.name,
          id: e.id,
          address: e.address,
          port: e.port,
          protocol: e.protocol,
          weight: e.weight,
          health: e.health,
          // Maintenance here takes the service's endpoints out of other nodes' pools too.
          draining: e.draining || s.maintenance !== undefined,
          metadata: e.metadata,
          labels: s.labels,
        });
      }
    }
    return out;
  };

  /** Ports of the apps' port ranges (merged where they overlap) that none of their replicas holds. */
  const freePorts = (): number => {
    const ranges: Array<[number, number]> = [];
    for (const a of deps.config().apps) if ("range" in a.port) ranges.push([a.port.range[0], a.port.range[1]]);
    if (ranges.length === 0) return 0;
    ranges.sort((x, y) => x[0] - y[0]);
    const merged: Array<[number, number]> = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    let total = 0;
    for (const [from, to] of merged) total += to - from + 1;
    const used = new Set<number>();
    for (const s of deps.catalog.list({ namespace: APP_NAMESPACE })) {
      if (s.source !== "app") continue;
      for (const e of s.endpoints) if (e.node === undefined && merged.some(([from, to]) => e.port >= from && e.port <= to)) used.add(e.port);
    }
    return total - used.size;
  };

  const push = () => {
    scheduled = false;
    const endpoints = localEndpoints();
    const free = freePorts();
    const text = `${free} ${JSON.stringify(endpoints)}`;
    // Remote changes fire the catalog's listeners too: only a change of the local set is sent.
    if (text === lastSent) return;
    lastSent = text;
    deps.send({ t: "cluster.local", endpoints, freePorts: free });
  };
  deps.catalog.onChange((c) => {
    if ("endpoint" in c && c.endpoint.node !== undefined) return;
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(push);
  });

  const toInput = (e: ClusterEndpoint) => ({
    namespace: e.namespace,
    service: e.service,
    labels: e.labels,
    endpoint: { id: e.id, address: e.address, port: e.port, protocol: e.protocol, weight: e.weight, metadata: e.metadata, health: e.health, draining: e.draining, node: e.node, zone: e.zone },
  });

  return {
    node,
    zone,
    state() {
      const local = localEndpoints();
      const free = freePorts();
      lastSent = `${free} ${JSON.stringify(local)}`;
      return { spec: deps.spec, local, freePorts: free, placement: deps.placementApps?.() ?? [] };
    },
    handle(msg) {
      switch (msg.t) {
        case "cluster.remote": {
          const removed = msg.removed.map((identity) => {
            const [n, namespace, service, id] = identity.split("/") as [string, string, string, string];
            return { namespace, service, id: remoteEndpointId(id, n) };
          });
          deps.catalog.applyRemote(msg.upserts.map(toInput), removed, msg.full);
          return true;
        }
        case "cluster.status":
          last = msg.status;
          return true;
        case "cluster.config":
          deps.onSharedConfig?.(msg.record, msg.revision);
          return true;
        case "cluster.event":
          deps.publish({ type: msg.type, source: "cluster", target: typeof msg.data?.node === "string" ? msg.data.node : node, severity: msg.severity, message: msg.message, ...(msg.data ? { data: msg.data } : {}) });
          return true;
        default:
          return false;
      }
    },
    status: () => last,
  };
}
