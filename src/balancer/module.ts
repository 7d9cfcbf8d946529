// The balancer worker's message handling: one Listener per configured balancer, pools pushed by the supervisor,
// stats sent once a second (wired by workers/balancer.ts).
//
// A listener that cannot bind is reported (address, errno code, next try) and retried with backoff until it
// binds or its balancer leaves the config; every successful bind is reported too, which clears the failure.
import { type BackoffOptions, type BackoffState, INITIAL_BACKOFF, nextBackoff } from "../core/supervision/backoff.ts";
import { systemRng } from "../core/time.ts";
import type { BalancerInit, BalancerRequests, BalancerSpec, FromBalancer, PoolMember, PoolSplit, ToBalancer } from "../protocol/balancer.ts";
import type { ModulePort, WorkerModule } from "../runtime/worker.ts";
import { startConnBalancer, type BalancedListener, type ConnBalancer } from "./conn-balancer.ts";
import { createListener, type Listener } from "./listener.ts";

/** Bind retries: a port held by a process on its way out frees within seconds; one held for good is tried twice a minute. */
export const LISTEN_RETRY: BackoffOptions = { initialMs: 500, factor: 2, capMs: 30_000, jitter: "decorrelated", stableMs: 0, immediateFirst: false };

export function createBalancerModule(retry: BackoffOptions = LISTEN_RETRY): WorkerModule<ToBalancer, FromBalancer, BalancerRequests> {
  let port: ModulePort<ToBalancer, FromBalancer, BalancerRequests>;
  let index = 0;
  const listeners = new Map<string, { cfg: string; drainMs: number; listener: Listener }>();
  const members = new Map<string, readonly PoolMember[]>();
  /** Balancers failed over to their backup members. */
  const failedOver = new Set<string>();
  /** The traffic split over each pool that has one, replaced with its pool. */
  const splits = new Map<string, PoolSplit>();
  let statsTimer: ReturnType<typeof setInterval> | undefined;
  let balance: ConnBalancer | undefined;
  /** The HTTP listeners whose connections are evened out with the other balancer workers. */
  function* balanced(): Iterable<readonly [string, BalancedListener]> {
    for (const [name, { listener }] of listeners) if (listener.balanced) yield [name, listener.balanced];
  }
  /** Balancers whose listener failed to bind: the config that failed, its backoff and the pending retry. */
  const failing = new Map<string, { cfg: string; backoff: BackoffState; timer: ReturnType<typeof setTimeout> }>();
  let wantedCfg = new Map<string, BalancerSpec>();
  let stopped = false;

  const clearFailing = (name: string) => {
    const f = failing.get(name);
    if (f) clearTimeout(f.timer);
    failing.delete(name);
  };

  /** Bind (or re-bind) one balancer's listener; on failure report it and schedule the next try. */
  const open = async (cfg: BalancerSpec, text: string) => {
    const current = listeners.get(cfg.name);
    try {
      const listener = await createListener(cfg, (d, forMs) => port.send({ t: "balancer.ejection", balancer: cfg.name, endpoint: d.id, action: d.action, reason: d.reason, forMs, timesEjected: d.timesEjected }));
      if (stopped || wantedCfg.get(cfg.name) !== cfg) {
        // The config moved on (or the worker stopped) while this bind was in flight.
        void listener.close(0);
        return;
      }
      listener.setMembers(members.get(cfg.name) ?? [], { failover: failedOver.has(cfg.name), split: splits.get(cfg.name) });
      listeners.set(cfg.name, { cfg: text, drainMs: cfg.drain_timeout, listener });
      if (current) void current.listener.close(current.drainMs);
      clearFailing(cfg.name);
      port.send({ t: "balancer.listening", worker: index, balancer: cfg.name, address: cfg.listen });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const prev = failing.get(cfg.name);
      const { delayMs, state } = nextBackoff(retry, prev && prev.cfg === text ? prev.backoff : INITIAL_BACKOFF, systemRng);
      if (prev) clearTimeout(prev.timer);
      const timer = setTimeout(() => {
        const want = wantedCfg.get(cfg.name);
        if (!stopped && want !== undefined && JSON.stringify(want) === text) void open(want, text);
      }, delayMs);
      failing.set(cfg.name, { cfg: text, backoff: state, timer });
      port.send({
        t: "balancer.listen-failed", worker: index, balancer: cfg.name, address: cfg.listen,
        code: typeof err.code === "string" ? err.code : "unknown", message: err.message ?? String(e), attempt: state.attempt, retryInMs: delayMs,
      });
    }
  };

  /**
   * Reconcile listeners to the config. Unchanged ones keep their connections. A changed one is replaced: the new
   * listener binds first (SO_REUSEPORT lets both hold the port), then the old one drains for drain_timeout.
   */
  const apply = async (init: BalancerInit) => {
    index = init.index;
    for (const [name, pool] of Object.entries(init.pools)) members.set(name, pool);
    failedOver.clear();
    for (const name of init.failover ?? []) failedOver.add(name);
    splits.clear();
    for (const [name, split] of Object.entries(init.splits ?? {})) splits.set(name, split);
    wantedCfg = new Map(init.balancers.map((b) => [b.name, b]));
    for (const name of [...failing.keys()]) if (!wantedCfg.has(name)) clearFailing(name);
    for (const [name, l] of [...listeners]) {
      if (wantedCfg.has(name)) continue;
      listeners.delete(name);
      void l.listener.close(l.drainMs);
    }
    for (const cfg of init.balancers) {
      const current = listeners.get(cfg.name);
      const text = JSON.stringify(cfg);
      if (current && current.cfg === text) {
        current.listener.setMembers(members.get(cfg.name) ?? [], { failover: failedOver.has(cfg.name), split: splits.get(cfg.name) });
        clearFailing(cfg.name);
        continue;
      }
      await open(cfg, text);
    }
  };

  const sendStats = () => {
    for (const [name, { listener }] of listeners) {
      const s = listener.stats();
      port.queue({ t: "balancer.stats", worker: index, balancer: name, listener: s.listener, endpoints: s.endpoints, panic: s.panic, onBackup: s.onBackup, held: s.held });
    }
    port.flush();
  };

  return {
    async start(state, p) {
      port = p;
      await apply(state);
      statsTimer = setInterval(sendStats, 1000);
      balance = startConnBalancer(() => index, balanced, undefined, (e) => port.send({
        t: "log", level: "info",
        msg: `balancer ${e.listener}: this thread holds ${e.held} connections, its share is ${Math.ceil(e.fair)}; ${e.shed} will be closed after their next response, so their clients reconnect and spread over the threads`,
        fields: { balancer: e.listener, worker: index, connections: e.held, share: Math.ceil(e.fair), closing: e.shed },
      }));
    },
    async reinit(state) {
      await apply(state);
    },
    handle(msg) {
      if (msg.t !== "balancer.pool") return;
      members.set(msg.balancer, msg.members);
      if (msg.failover) failedOver.add(msg.balancer);
      else failedOver.delete(msg.balancer);
      if (msg.split) splits.set(msg.balancer, msg.split);
      else splits.delete(msg.balancer);
      listeners.get(msg.balancer)?.listener.setMembers(msg.members, { failover: msg.failover === true, split: msg.split });
    },
    requests: {
      "balancer.drain": async (msg) => {
        const l = listeners.get(msg.balancer);
        if (!l) return { inFlight: 0 };
        let timer: ReturnType<typeof setTimeout> | undefined;
        const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, l.drainMs)));
        await Promise.race([l.listener.whenIdle(msg.endpoint), bound]);
        clearTimeout(timer);
        return { inFlight: l.listener.active(msg.endpoint) };
      },
      "balancer.reload-tls": (msg) => {
        listeners.get(msg.balancer)?.listener.reloadTls();
        return { reloaded: msg.balancer };
      },
    },
    async stop() {
      stopped = true;
      for (const name of [...failing.keys()]) clearFailing(name);
      if (statsTimer) clearInterval(statsTimer);
      balance?.stop();
      await Promise.all([...listeners.values()].map((l) => l.listener.close(5000)));
    },
  };
}
