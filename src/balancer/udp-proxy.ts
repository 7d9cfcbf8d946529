// UDP proxy: each client address gets an endpoint and its own upstream socket, kept while datagrams flow.
//
// The first datagram from a client picks an endpoint and opens a connected upstream socket;
// replies arriving on it go back to that client from the listening socket. A mapping with no
// traffic either way for idleTimeoutMs is dropped (its socket closed). Datagrams that arrive
// while the upstream socket is still opening are queued (bounded) and sent in order.

import type { udp } from "bun";
import type { ConnectionContext, L4Pool, ProxyEndpoint } from "./proxy-pool.ts";
import { ProxyStats, snapshotAll, type ProxyStatsSnapshot } from "./proxy-stats.ts";

export interface UdpProxyOptions {
  hostname: string;
  port: number;
  pool: L4Pool;
  /** Forget a client mapping after this long without datagrams (default 30 s). */
  idleTimeoutMs?: number;
  /** Datagrams held per client while its upstream socket opens (default 64). */
  maxQueued?: number;
}

export interface UdpProxy {
  readonly port: number;
  /** Client mappings currently held. */
  readonly mappings: number;
  stats(reset?: boolean): ProxyStatsSnapshot;
  close(): Promise<void>;
}

interface Mapping extends ConnectionContext {
  key: string;
  ep: ProxyEndpoint;
  epStats: ProxyStats;
  sock: udp.ConnectedSocket<"buffer"> | undefined;
  queue: Buffer[] | undefined;
  lastSeen: number;
  closed: boolean;
}

export async function createUdpProxy(opts: UdpProxyOptions): Promise<UdpProxy> {
  const idleMs = opts.idleTimeoutMs ?? 30_000;
  const maxQueued = opts.maxQueued ?? 64;
  const stats = new ProxyStats();
  const epStats = new Map<string, ProxyStats>();
  const maps = new Map<string, Mapping>();

  const statsFor = (ep: ProxyEndpoint): ProxyStats => {
    let s = epStats.get(ep.id);
    if (s === undefined) epStats.set(ep.id, (s = new ProxyStats()));
    return s;
  };

  const drop = (m: Mapping): void => {
    if (m.closed) return;
    m.closed = true;
    maps.delete(m.key);
    stats.active--;
    m.epStats.active--;
    m.sock?.close();
    opts.pool.onDone?.(m.ep, 0, 200);
  };

  const open = (m: Mapping, clientPort: number, clientAddr: string): void => {
    Bun.udpSocket({
      hostname: m.ep.address.includes(":") ? "::" : "0.0.0.0",
      port: 0,
      connect: { hostname: m.ep.address, port: m.ep.port },
      socket: {
        data(_s, data) {
          m.lastSeen = performance.now();
          m.epStats.bytesIn += data.length;
          stats.bytesOut += data.length;
          stats.response(200);
          listener.send(data, clientPort, clientAddr);
        },
        error() {
          m.epStats.errors++;
        },
      },
    }).then((s) => {
      if (m.closed) return s.close();
      m.sock = s;
      for (const d of m.queue ?? []) s.send(d);
      m.queue = undefined;
    }, () => {
      stats.errors++;
      m.epStats.errors++;
      drop(m);
    });
  };

  const listener = await Bun.udpSocket({
    hostname: opts.hostname,
    port: opts.port,
    socket: {
      data(_s, data, port, address) {
        stats.bytesIn += data.length;
        const key = `${address}|${port}`;
        let m = maps.get(key);
        if (m === undefined) {
          const ctx = { clientIp: address, clientPort: port, attempt: 0, previous: undefined };
          const ep = opts.pool.pick(ctx);
          if (ep === undefined) {
            stats.errors++;
            return;
          }
          opts.pool.onStart?.(ep);
          const es = statsFor(ep);
          es.requests++;
          es.active++;
          stats.active++;
          m = { ...ctx, key, ep, epStats: es, sock: undefined, queue: [], lastSeen: 0, closed: false };
          maps.set(key, m);
          open(m, port, address);
        }
        stats.requests++;
        m.lastSeen = performance.now();
        m.epStats.bytesOut += data.length;
        if (m.sock) m.sock.send(data);
        else if (m.queue && m.queue.length < maxQueued) m.queue.push(Buffer.from(data));
        else stats.errors++;
      },
    },
  });

  const sweep = setInterval(function sweepUdpMappings() {
    const now = performance.now();
    for (const m of maps.values()) if (now - m.lastSeen > idleMs) drop(m);
  }, Math.max(10, Math.min(1000, Math.floor(idleMs / 4))));
  sweep.unref?.();

  return {
    port: listener.port,
    get mappings() {
      return maps.size;
    },
    stats: (reset = false) => snapshotAll(stats, epStats, reset),
    async close() {
      clearInterval(sweep);
      for (const m of [...maps.values()]) drop(m);
      listener.close();
    },
  };
}
