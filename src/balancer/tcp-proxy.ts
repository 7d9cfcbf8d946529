// TCP (L4) proxy: one upstream connection per client connection, picked once, bytes piped both ways.
//
// Per connection: CONNECTING (client bytes held, client paused past a bound) -> PIPING. A connect
// failure or timeout retries on another endpoint up to maxRetries. Half-close: a FIN from one
// side is passed on as a FIN to the other once pending bytes are flushed, and the other
// direction keeps flowing until it ends too. Writes the kernel does not take are kept and the
// source socket is paused until drain (backpressure).

import type { Socket, TCPSocketListener, TCPSocketListenOptions } from "bun";
import type { ConnectionContext, L4Pool, ProxyEndpoint } from "./proxy-pool.ts";
import { ProxyStats, snapshotAll, type ProxyStatsSnapshot } from "./proxy-stats.ts";

export interface TcpProxyOptions {
  hostname: string;
  port: number;
  pool: L4Pool;
  connectTimeoutMs?: number;
  maxRetries?: number;
  /** Close a connection with no bytes either way for this long (default 1 h; 0 = never). */
  idleTimeoutMs?: number;
}

export interface TcpProxy {
  readonly port: number;
  stats(reset?: boolean): ProxyStatsSnapshot;
  close(graceMs?: number): Promise<void>;
}

/** One side of the pipe: ordered writes with a pending tail, and a FIN sent after the tail. */
class Side {
  sock: Socket<Conn> | undefined = undefined;
  pending: Buffer | undefined = undefined;
  finPending = false;
  ended = false; // we sent FIN to this side
  gotFin = false; // this side sent FIN to us

  write(data: Buffer): boolean {
    if (this.pending !== undefined || this.sock === undefined) {
      this.pending = this.pending === undefined ? data : Buffer.concat([this.pending, data]);
      return false;
    }
    const n = this.sock.write(data);
    if (n >= 0 && n < data.length) {
      this.pending = data.subarray(n);
      return false;
    }
    return true;
  }

  flush(): boolean {
    if (this.sock === undefined) return false;
    const p = this.pending;
    if (p !== undefined) {
      this.pending = undefined;
      if (!this.write(p)) return false;
    }
    if (this.finPending) this.fin();
    return true;
  }

  fin(): void {
    if (this.ended) return;
    if (this.pending !== undefined || this.sock === undefined) {
      this.finPending = true;
      return;
    }
    this.ended = true;
    this.sock.shutdown();
  }
}

class Conn implements ConnectionContext {
  readonly client = new Side();
  readonly upstream = new Side();
  attempt = 0;
  previous: ProxyEndpoint | undefined = undefined;
  ep: ProxyEndpoint | undefined = undefined;
  epStats: ProxyStats | undefined = undefined;
  connectTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  started = 0;
  done = false;
  constructor(readonly clientIp: string, readonly clientPort: number) {}
}

export function createTcpProxy(opts: TcpProxyOptions): TcpProxy {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 3_000;
  const maxRetries = opts.maxRetries ?? 2;
  const stats = new ProxyStats();
  const epStats = new Map<string, ProxyStats>();
  const conns = new Set<Conn>();
  const idleSeconds = Math.ceil((opts.idleTimeoutMs ?? 3_600_000) / 1000);

  const statsFor = (ep: ProxyEndpoint): ProxyStats => {
    let s = epStats.get(ep.id);
    if (s === undefined) epStats.set(ep.id, (s = new ProxyStats()));
    return s;
  };

  const finishIfDone = (c: Conn): void => {
    if (c.client.ended && c.upstream.ended && c.client.gotFin && c.upstream.gotFin) teardown(c, false);
  };

  const teardown = (c: Conn, error: boolean): void => {
    if (c.done) return;
    c.done = true;
    clearTimeout(c.connectTimer);
    if (c.ep) opts.pool.onDone?.(c.ep, performance.now() - c.started, error ? "reset" : 200);
    if (error) {
      c.client.sock?.terminate();
      c.upstream.sock?.terminate();
    } else {
      c.client.sock?.end();
      c.upstream.sock?.end();
    }
  };

  const upstreamHandler = {
    binaryType: "buffer" as const,
    open(s: Socket<Conn>) {
      const c = s.data;
      if (c.done) return s.terminate();
      clearTimeout(c.connectTimer);
      c.upstream.sock = s;
      c.epStats!.active++;
      c.epStats!.latency.recordMs(performance.now() - c.started);
      if (idleSeconds > 0) s.timeout(idleSeconds);
      if (!c.upstream.flush()) return;
      c.client.sock?.resume();
    },
    data(s: Socket<Conn>, d: Buffer) {
      const c = s.data;
      c.epStats!.bytesIn += d.length;
      stats.bytesOut += d.length;
      if (!c.client.write(d)) s.pause();
    },
    drain(s: Socket<Conn>) {
      if (s.data.upstream.flush()) s.data.client.sock?.resume();
    },
    end(s: Socket<Conn>) {
      const c = s.data;
      c.upstream.gotFin = true;
      c.client.fin();
      finishIfDone(c);
    },
    close(s: Socket<Conn>) {
      const c = s.data;
      if (c.upstream.sock === s) c.epStats!.active--;
      if (c.upstream.sock !== s || c.done) return;
      // Upstream went away entirely: pass a FIN to the client once its bytes are flushed.
      c.upstream.gotFin = true;
      c.upstream.ended = true;
      c.client.fin();
      if (c.client.gotFin) teardown(c, false);
    },
    connectError(s: Socket<Conn>) {
      connectFailed(s.data);
    },
    timeout(s: Socket<Conn>) {
      teardown(s.data, true);
    },
    error(s: Socket<Conn>) {
      s.terminate();
    },
  };

  const connectFailed = (c: Conn): void => {
    if (c.done || c.upstream.sock !== undefined) return;
    clearTimeout(c.connectTimer);
    c.epStats!.errors++;
    opts.pool.onDone?.(c.ep!, performance.now() - c.started, "connect");
    if (c.attempt < maxRetries) {
      c.attempt++;
      c.previous = c.ep;
      stats.retries++;
      c.epStats!.retries++;
      return dial(c);
    }
    stats.errors++;
    c.ep = undefined;
    teardown(c, true);
  };

  const dial = (c: Conn): void => {
    const ep = opts.pool.pick(c);
    if (ep === undefined) {
      stats.errors++;
      return teardown(c, true);
    }
    c.ep = ep;
    c.epStats = statsFor(ep);
    c.epStats.requests++;
    c.started = performance.now();
    opts.pool.onStart?.(ep);
    const attempt = c.attempt;
    c.connectTimer = setTimeout(() => {
      if (c.attempt === attempt && c.upstream.sock === undefined) connectFailed(c);
    }, connectTimeoutMs);
    Bun.connect<Conn>({ hostname: ep.address, port: ep.port, data: c, allowHalfOpen: true, socket: upstreamHandler })
      .then((s) => {
        // A connection that completes after its attempt timed out is not ours any more.
        if (c.attempt !== attempt || c.done) s.terminate();
      }, () => {});
  };

  const clientHandler = {
    binaryType: "buffer" as const,
    open(s: Socket<Conn>) {
      const c = new Conn(s.remoteAddress, 0);
      s.data = c;
      c.client.sock = s;
      conns.add(c);
      stats.active++;
      stats.requests++;
      if (idleSeconds > 0) s.timeout(idleSeconds);
      dial(c);
    },
    data(s: Socket<Conn>, d: Buffer) {
      const c = s.data;
      stats.bytesIn += d.length;
      if (c.epStats) c.epStats.bytesOut += d.length;
      if (!c.upstream.write(d)) s.pause();
    },
    drain(s: Socket<Conn>) {
      if (s.data.client.flush()) s.data.upstream.sock?.resume();
    },
    end(s: Socket<Conn>) {
      const c = s.data;
      c.client.gotFin = true;
      c.upstream.fin();
      finishIfDone(c);
    },
    close(s: Socket<Conn>) {
      const c = s.data;
      if (!conns.delete(c)) return;
      stats.active--;
      if (!c.done) {
        c.done = true;
        clearTimeout(c.connectTimer);
        if (c.ep) opts.pool.onDone?.(c.ep, performance.now() - c.started, 200);
        c.upstream.sock?.end();
      }
    },
    timeout(s: Socket<Conn>) {
      teardown(s.data, true);
    },
    error(s: Socket<Conn>) {
      s.terminate();
    },
  };

  const options: TCPSocketListenOptions<Conn> & { reusePort: boolean } = {
    hostname: opts.hostname,
    port: opts.port,
    reusePort: true,
    allowHalfOpen: true,
    socket: clientHandler,
  };
  const listener: TCPSocketListener<Conn> = Bun.listen<Conn>(options);
  let closed: Promise<void> | undefined;
  return {
    port: listener.port,
    stats: (reset = false) => snapshotAll(stats, epStats, reset),
    close(graceMs = 5_000) {
      closed ??= (async () => {
        listener.stop(false);
        const deadline = Date.now() + graceMs;
        while (conns.size > 0 && Date.now() < deadline) await Bun.sleep(10);
        for (const c of conns) teardown(c, true);
        listener.stop(true);
      })();
      return closed;
    },
  };
}
