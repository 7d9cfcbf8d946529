// Runner of the connection balance between balancer workers (core/balancing/conn-balance.ts decides).
//
// Every tick each worker posts its open client connections per HTTP listener on a BroadcastChannel the balancer
// workers of the process share (protocol/balancer.ts), keeps the latest report of every other worker, and sets each
// listener's shed budget from the pure decision. With one worker there are no reports and nothing is ever shed.
import { CONN_BALANCE_DEFAULTS, decideShed, INITIAL_CONN_BALANCE, type ConnBalanceOptions, type ConnBalanceState, type PeerCount } from "../core/balancing/conn-balance.ts";
import { BALANCER_PEERS_CHANNEL, type BalancerPeerReport } from "../protocol/balancer.ts";

/** What the runner needs of one listener: its connection count and a place to put the shed budget. */
export interface BalancedListener {
  connections(): number;
  /** Keep-alive connections to end after their current response, replacing the previous budget. */
  shed(n: number): void;
}

export interface ConnBalancerOptions extends ConnBalanceOptions {
  tickMs: number;
  /** The channel's name (tests use their own, so parallel tests do not hear each other). */
  channel: string;
}

export const CONN_BALANCER_DEFAULTS: ConnBalancerOptions = { ...CONN_BALANCE_DEFAULTS, tickMs: 100, channel: BALANCER_PEERS_CHANNEL };

export interface ConnBalancer {
  stop(): void;
}

/** A listener starts closing connections for balance: what it holds, its share, how many it closes. */
export interface ShedEpisode {
  readonly listener: string;
  readonly held: number;
  readonly fair: number;
  readonly shed: number;
}

/** An episode is reported when shedding starts, at most this often per listener (it may take a few ticks). */
const REPORT_EVERY_MS = 10_000;

export function startConnBalancer(
  worker: () => number,
  listeners: () => Iterable<readonly [string, BalancedListener]>,
  opts: ConnBalancerOptions = CONN_BALANCER_DEFAULTS,
  onShed: (e: ShedEpisode) => void = () => {},
): ConnBalancer {
  const lastReport = new Map<string, number>();
  /** Per listener, the previous decision's view (see ConnBalanceState). */
  const states = new Map<string, ConnBalanceState>();
  /** Per listener, the latest count of every other worker. */
  const peers = new Map<string, Map<number, PeerCount>>();
  const channel = new BroadcastChannel(opts.channel);
  (channel as { unref?: () => void }).unref?.();
  channel.onmessage = (e: { data: unknown }) => {
    const m = e.data as BalancerPeerReport | undefined;
    if (m?.t !== "balancer.connections" || typeof m.worker !== "number" || m.worker === worker() || typeof m.counts !== "object" || m.counts === null) return;
    const at = performance.now();
    for (const [name, active] of Object.entries(m.counts)) {
      if (typeof active !== "number" || !Number.isFinite(active) || active < 0) continue;
      let byWorker = peers.get(name);
      if (byWorker === undefined) peers.set(name, (byWorker = new Map()));
      byWorker.set(m.worker, { active, at });
    }
  };
  const tick = () => {
    const now = performance.now();
    const counts: Record<string, number> = {};
    for (const [name, l] of listeners()) {
      const own = l.connections();
      counts[name] = own;
      const byWorker = peers.get(name);
      const d = byWorker === undefined ? undefined : decideShed(states.get(name) ?? INITIAL_CONN_BALANCE, own, byWorker.values(), now, opts);
      states.set(name, d?.state ?? INITIAL_CONN_BALANCE);
      l.shed(d?.shed ?? 0);
      if (d !== undefined && d.shed > 0 && now - (lastReport.get(name) ?? -Infinity) >= REPORT_EVERY_MS) {
        lastReport.set(name, now);
        try {
          onShed({ listener: name, held: own, fair: d.fair, shed: d.shed });
        } catch {
          // A reporting fault must not stop the balance.
        }
      }
    }
    const report: BalancerPeerReport = { t: "balancer.connections", worker: worker(), counts };
    channel.postMessage(report);
  };
  const timer = setInterval(tick, opts.tickMs);
  timer.unref?.();
  return {
    stop() {
      clearInterval(timer);
      channel.close();
    },
  };
}
