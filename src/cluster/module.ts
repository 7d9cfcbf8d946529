// The cluster worker's message handling: builds the etcd client from the spec (reading the password and TLS files
// here, so secrets never travel in messages), runs the cluster agent, answers members/status (wired by
// workers/cluster.ts).
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg, totalmem } from "node:os";
import type { ClusterRequests, ClusterSpec, FromCluster, ToCluster } from "../protocol/cluster.ts";
import type { ModulePort, WorkerModule } from "../runtime/worker.ts";
import { type ClusterAgent, createClusterAgent } from "./agent.ts";
import { createEtcdClient } from "./etcd.ts";
import { createPlacementRunner, type PlacementRunner } from "./placement.ts";

function read(path: string | undefined, what: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cluster.etcd.${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function clientFor(spec: ClusterSpec) {
  const password = read(spec.passwordFile, "password_file")?.replace(/\r?\n$/, "");
  const ca = read(spec.tls?.caFile, "tls.ca_file");
  const cert = read(spec.tls?.certFile, "tls.cert_file");
  const key = read(spec.tls?.keyFile, "tls.key_file");
  return createEtcdClient({
    endpoints: spec.endpoints,
    dialTimeoutMs: spec.dialTimeoutMs,
    ...(spec.username !== undefined ? { username: spec.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(ca || cert ? { tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}),
  });
}

export function createClusterModule(): WorkerModule<ToCluster, FromCluster, ClusterRequests> {
  let agent: ClusterAgent | undefined;
  let placement: PlacementRunner | undefined;
  let freePorts = 0;
  return {
    start(state, port: ModulePort<ToCluster, FromCluster, ClusterRequests>) {
      const client = clientFor(state.spec);
      const log = (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => port.send({ t: "log", level, msg, ...(fields ? { fields } : {}) });
      placement = createPlacementRunner({ prefix: state.spec.prefix, self: state.spec.node.name, client, members: () => agent?.members() ?? [], send: (m) => port.send(m), log, labels: state.spec.node.labels ?? {} });
      placement.setApps(state.placement);
      agent = createClusterAgent({
        spec: state.spec,
        client,
        hooks: placement.hooks,
        send: (m) => port.send(m),
        capacity: () => ({ cores: availableParallelism(), memoryBytes: totalmem(), load1: Math.round(loadavg()[0]! * 100) / 100, freePorts }),
        log: (level, msg, fields) => port.send({ t: "log", level, msg, ...(fields ? { fields } : {}) }),
      });
      freePorts = state.freePorts;
      agent.setLocal(state.local);
      agent.start();
    },
    // The spec is fixed at start (cluster.* needs a restart); a re-init carries the local set again.
    reinit(state) {
      freePorts = state.freePorts;
      placement?.setApps(state.placement);
      agent?.nodeChanged();
      agent?.setLocal(state.local);
    },
    handle(msg) {
      if (msg.t === "cluster.placement") {
        placement?.setApps(msg.apps);
        agent?.nodeChanged();
        return;
      }
      if (msg.t !== "cluster.local") return;
      // The node record carries it from its next write (a registration, or the periodic refresh).
      freePorts = msg.freePorts;
      agent?.setLocal(msg.endpoints);
    },
    requests: {
      "cluster.members": () => agent?.members() ?? [],
      "cluster.status": () => {
        if (!agent) throw Object.assign(new Error("cluster worker not started"), { code: "unavailable" });
        return agent.status();
      },
      "cluster.placement": () => {
        if (!placement) throw Object.assign(new Error("cluster worker not started"), { code: "unavailable" });
        return placement.view();
      },
      "cluster.rebalance": (body) => {
        if (!placement) throw Object.assign(new Error("cluster worker not started"), { code: "unavailable" });
        return placement.rebalance(body.app);
      },
      "cluster.config.put": async (msg) => {
        if (!agent) throw Object.assign(new Error("cluster worker not started"), { code: "unavailable" });
        return { revision: await agent.putSharedConfig(msg.record) };
      },
      "cluster.release": async () => {
        if (!agent) return { released: false };
        placement?.stop();
        await agent.stop({ leave: false });
        return { released: true };
      },
    },
    async stop() {
      placement?.stop();
      await agent?.stop();
    },
  };
}
