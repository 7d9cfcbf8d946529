// The balancer worker's message handling: one Listener per configured balancer, pools pushed by the supervisor,
// stats sent once a second (wired by workers/balancer.ts).
import type { BalancerInit, BalancerRequests, FromBalancer, PoolMember, ToBalancer } from "../protocol/balancer.ts";
import type { ModulePort, WorkerModule } from "../runtime/worker.ts";
import { createListener, type Listener } from "./listener.ts";

export function createBalancerModule(): WorkerModule<ToBalancer, FromBalancer, BalancerRequests> {
  let port: ModulePort<ToBalancer, FromBalancer, BalancerRequests>;
  let index = 0;
  const listeners = new Map<string, { cfg: string; drainMs: number; listener: Listener }>();
  const members = new Map<string, readonly PoolMember[]>();
  let statsTimer: ReturnType<typeof setInterval> | undefined;

  /**
   * Reconcile listeners to the config. Unchanged ones keep their connections. A changed one is replaced: the new
   * listener binds first (SO_REUSEPORT lets both hold the port), then the old one drains for drain_timeout.
   */
  const apply = async (init: BalancerInit) => {
    index = init.index;
    for (const [name, pool] of Object.entries(init.pools)) members.set(name, pool);
    const wanted = new Set(init.balancers.map((b) => b.name));
    for (const [name, l] of [...listeners]) {
      if (wanted.has(name)) continue;
      listeners.delete(name);
      void l.listener.close(l.drainMs);
    }
    for (const cfg of init.balancers) {
      const current = listeners.get(cfg.name);
      const text = JSON.stringify(cfg);
      if (current && current.cfg === text) {
        current.listener.setMembers(members.get(cfg.name) ?? []);
        continue;
      }
      try {
        const listener = await createListener(cfg, (d, forMs) => port.send({ t: "balancer.ejection", balancer: cfg.name, endpoint: d.id, action: d.action, reason: d.reason, forMs, timesEjected: d.timesEjected }));
        listener.setMembers(members.get(cfg.name) ?? []);
        listeners.set(cfg.name, { cfg: text, drainMs: cfg.drain_timeout, listener });
        if (current) void current.listener.close(current.drainMs);
      } catch (e) {
        port.send({ t: "balancer.listen-failed", balancer: cfg.name, message: (e as Error).message });
      }
    }
  };

  const sendStats = () => {
    for (const [name, { listener }] of listeners) {
      const s = listener.stats();
      port.queue({ t: "balancer.stats", worker: index, balancer: name, listener: s.listener, endpoints: s.endpoints, panic: s.panic, held: s.held });
    }
    port.flush();
  };

  return {
    async start(state, p) {
      port = p;
      await apply(state);
      statsTimer = setInterval(sendStats, 1000);
    },
    async reinit(state) {
      await apply(state);
    },
    handle(msg) {
      if (msg.t !== "balancer.pool") return;
      members.set(msg.balancer, msg.members);
      listeners.get(msg.balancer)?.listener.setMembers(msg.members);
    },
    requests: {
      "balancer.active": (msg) => listeners.get(msg.balancer)?.listener.active(msg.endpoint) ?? 0,
      "balancer.reload-tls": (msg) => {
        listeners.get(msg.balancer)?.listener.reloadTls();
        return { reloaded: msg.balancer };
      },
    },
    async stop() {
      if (statsTimer) clearInterval(statsTimer);
      await Promise.all([...listeners.values()].map((l) => l.listener.close(5000)));
    },
  };
}
