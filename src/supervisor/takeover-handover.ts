// The supervisor's side of a takeover (see takeover.ts): what is given up at release and taken back at resume.
//
//   released:  scaler worker stopped (no decision in flight), procs worker released (replicas keep running, their
//              records stay in the store), admin API and DNS closed (their ports free for the successor), events no
//              longer written to the store (the successor numbers them from where we stopped).
//              cluster worker stopped without leaving etcd (the successor registers the same node name: a leave would
//              rewrite the node key under our lease and revoke it, deleting the successor's key for a moment),
//   kept:      balancer workers keep serving beside the successor's, with health still probed and pushed, until retire.
import type { AgentEvent } from "../state/event-bus.ts";
import type { PoolMember } from "../protocol/balancer.ts";
import type { Handover } from "./takeover.ts";
import type { ClusterHost, ProcsHost } from "./hub.ts";
import type { WorkerControl } from "./worker-host.ts";

export interface HandoverDeps {
  procs(): ProcsHost | undefined;
  scaler(): WorkerControl | undefined;
  cluster?(): ClusterHost | undefined;
  apps(): readonly string[];
  desiredOf(app: string): number | undefined;
  setDesired(app: string, n: number): void;
  pools(): Readonly<Record<string, readonly PoolMember[]>>;
  subscribe(fn: (e: AgentEvent) => void): () => void;
  /** Close the admin API and DNS listeners; open them again. */
  closeListeners(): Promise<void>;
  openListeners(): Promise<void>;
  /** Write events to the store, or stop (flushing what is pending). */
  persistEvents(on: boolean): void;
  stopTimeoutMs(): number;
  /** Start balancer workers that start() left out (deferBalancers). */
  startBalancers(): Promise<void>;
  /** Stop (or restart) acting on rollouts: a released agent must not launch or retire the successor's replicas. */
  holdDeploys?(on: boolean): void;
}

/** The procs worker answers a release at once; a worker that does not is restarting and holds nothing to release. */
const RELEASE_REQUEST_MS = 10_000;

export function createHandover(deps: HandoverDeps): Handover {
  const failures = new Set<string>();
  deps.subscribe((e) => {
    if (e.type === "balancer.listen-failed") failures.add(e.target);
  });
  let scalerStopped = false;
  let procsReleased = false;
  let clusterReleased = false;
  let listenersClosed = false;
  let persisting = true;

  return {
    async release() {
      deps.holdDeploys?.(true);
      scalerStopped = true;
      await deps.scaler()?.stop(deps.stopTimeoutMs());
      procsReleased = true;
      await deps.procs()?.request({ t: "procs.release" }, RELEASE_REQUEST_MS);
      const cluster = deps.cluster?.();
      if (cluster) {
        clusterReleased = true;
        // Stops its session with no write to etcd; the worker itself stays up (stopping it later leaves nothing).
        await cluster.request({ t: "cluster.release" }, RELEASE_REQUEST_MS).catch(() => undefined);
      }
      listenersClosed = true;
      await deps.closeListeners();
      persisting = false;
      deps.persistEvents(false);
      const desired: Record<string, number> = {};
      for (const app of deps.apps()) {
        const n = deps.desiredOf(app);
        if (n !== undefined) desired[app] = n;
      }
      return { desired, passing: countPassing(deps.pools()) };
    },
    async resume() {
      if (!persisting) deps.persistEvents(true);
      persisting = true;
      if (listenersClosed) await deps.openListeners();
      listenersClosed = false;
      if (procsReleased) {
        // A fresh procs worker adopts every replica from the store records, as after an agent crash.
        const procs = deps.procs();
        await procs?.stop(deps.stopTimeoutMs());
        await procs?.start();
      }
      procsReleased = false;
      if (clusterReleased) {
        // A fresh cluster worker registers this node again (the same keys, under a lease of its own).
        const cluster = deps.cluster?.();
        await cluster?.stop(deps.stopTimeoutMs());
        await cluster?.start();
      }
      clusterReleased = false;
      if (scalerStopped) await deps.scaler()?.start();
      scalerStopped = false;
      deps.holdDeploys?.(false);
    },
    passing: () => countPassing(deps.pools()),
    startBalancers: () => deps.startBalancers(),
    listenFailures: () => [...failures],
    seedDesired(desired) {
      for (const [app, n] of Object.entries(desired)) if (Number.isInteger(n) && n >= 0) deps.setDesired(app, n);
    },
  };
}

function countPassing(pools: Readonly<Record<string, readonly PoolMember[]>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, members] of Object.entries(pools)) out[name] = members.filter((m) => m.health === "passing" && !m.draining).length;
  return out;
}
