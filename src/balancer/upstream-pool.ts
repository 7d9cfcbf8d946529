// Upstream connections per endpoint: idle keep-alive sockets reused LIFO, new ones opened with Bun.connect.
//
// An UpstreamConn belongs to at most one client exchange at a time (`owner`). Socket events go to
// the owner through the small `UpstreamOwner` interface; an idle socket that receives bytes or a
// FIN is closed and forgotten (the upstream gave up on it, or broke the protocol).

import type { Socket, TLSOptions } from "bun";
import type { ProxyEndpoint } from "./proxy-pool.ts";
import { ProxyStats } from "./proxy-stats.ts";

export interface UpstreamOwner {
  onUpstreamOpen(up: UpstreamConn): void;
  onUpstreamData(up: UpstreamConn, chunk: Buffer): void;
  onUpstreamDrain(up: UpstreamConn): void;
  /** Closed, reset or failed to connect (`connected` tells which). */
  onUpstreamClose(up: UpstreamConn): void;
}

export interface EndpointState {
  readonly endpoint: ProxyEndpoint;
  /** Where its connections go, copied: `endpoint` may be a live view whose address changes under the same id. */
  readonly address: string;
  readonly port: number;
  readonly idle: UpstreamConn[];
  readonly stats: ProxyStats;
}

export class UpstreamConn {
  sock: Socket<UpstreamConn> | undefined = undefined;
  owner: UpstreamOwner | undefined = undefined;
  connected = false;
  closed = false;
  /** close()/abort() came before the connection opened: it is cut as soon as it does. */
  dropped = false;
  /** Bytes the kernel did not take yet; written on drain, in order. */
  pending: Buffer | undefined = undefined;
  idleSince = 0;
  constructor(readonly ep: EndpointState) {}

  /** Write in order; returns false when bytes are left pending (caller should pause its source). */
  send(data: Buffer): boolean {
    if (this.pending !== undefined) {
      this.pending = Buffer.concat([this.pending, data]);
      return false;
    }
    const s = this.sock;
    if (s === undefined || !this.connected) {
      this.pending = data;
      return false;
    }
    const n = s.write(data);
    this.ep.stats.bytesOut += n > 0 ? n : 0;
    if (n < data.length && n >= 0) {
      this.pending = data.subarray(n);
      return false;
    }
    return true;
  }

  flush(): boolean {
    const p = this.pending;
    if (p === undefined) return true;
    this.pending = undefined;
    return this.send(p);
  }

  private paused = false;
  pauseReading(): void {
    if (this.paused) return;
    this.paused = true;
    this.sock?.pause();
  }
  resumeReading(): void {
    if (!this.paused) return;
    this.paused = false;
    this.sock?.resume();
  }

  close(): void {
    if (this.closed) return;
    if (this.sock === undefined) this.dropped = true;
    else this.sock.end();
  }

  /** Abort: RST instead of FIN, used when a half-sent message must not look complete to the upstream. */
  abort(): void {
    if (this.closed) return;
    if (this.sock === undefined) this.dropped = true;
    else this.sock.terminate();
  }
}

export interface UpstreamPoolOptions {
  maxIdlePerEndpoint: number;
  idleTimeoutMs: number;
  tls?: TLSOptions;
}

export class UpstreamPool {
  readonly endpoints = new Map<string, EndpointState>();
  readonly stats = new Map<string, ProxyStats>();
  private readonly handler;

  constructor(private readonly opts: UpstreamPoolOptions) {
    const release = (up: UpstreamConn): void => {
      if (up.closed) return;
      up.closed = true;
      up.ep.stats.active--;
      const idx = up.ep.idle.indexOf(up);
      if (idx >= 0) up.ep.idle.splice(idx, 1);
      const o = up.owner;
      up.owner = undefined;
      o?.onUpstreamClose(up);
    };
    this.handler = {
      binaryType: "buffer" as const,
      open(s: Socket<UpstreamConn>) {
        const up = s.data;
        up.sock = s;
        up.connected = true;
        // Given up on while connecting (connect timeout, client gone): nobody will use or release it.
        if (up.dropped) return void s.terminate();
        up.owner?.onUpstreamOpen(up);
      },
      data(s: Socket<UpstreamConn>, chunk: Buffer) {
        const up = s.data;
        up.ep.stats.bytesIn += chunk.length;
        if (up.owner) up.owner.onUpstreamData(up, chunk);
        else s.terminate();
      },
      drain(s: Socket<UpstreamConn>) {
        const up = s.data;
        if (up.flush()) up.owner?.onUpstreamDrain(up);
      },
      end(s: Socket<UpstreamConn>) {
        s.end();
      },
      close(s: Socket<UpstreamConn>) {
        release(s.data);
      },
      connectError(s: Socket<UpstreamConn>) {
        release(s.data);
      },
      error(s: Socket<UpstreamConn>) {
        s.terminate();
      },
    };
  }

  state(ep: ProxyEndpoint): EndpointState {
    let st = this.endpoints.get(ep.id);
    if (st === undefined || st.address !== ep.address || st.port !== ep.port) {
      // Same id at a new address (a replica restarted on another port): connections to the old one are useless.
      if (st !== undefined) for (const up of [...st.idle]) up.close();
      const stats = this.stats.get(ep.id) ?? new ProxyStats();
      st = { endpoint: ep, address: ep.address, port: ep.port, idle: [], stats };
      this.endpoints.set(ep.id, st);
      this.stats.set(ep.id, stats);
    }
    return st;
  }

  /** An idle connection (already open) or a new one connecting; `owner` gets its events. */
  acquire(ep: ProxyEndpoint, owner: UpstreamOwner, now: number): UpstreamConn {
    const st = this.state(ep);
    const idle = st.idle;
    while (idle.length > 0) {
      const up = idle.pop()!;
      if (up.closed) continue;
      if (now - up.idleSince > this.opts.idleTimeoutMs) {
        up.close();
        continue;
      }
      up.owner = owner;
      return up;
    }
    const up = new UpstreamConn(st);
    up.owner = owner;
    st.stats.active++;
    const p = Bun.connect<UpstreamConn>({
      hostname: ep.address,
      port: ep.port,
      data: up,
      socket: this.handler,
      ...(this.opts.tls ? { tls: this.opts.tls } : {}),
    });
    p.catch(() => {}); // connectError reports failures
    return up;
  }

  /** Give a connection back after a complete exchange; closes it when the idle list is full. */
  release(up: UpstreamConn, now: number): void {
    up.owner = undefined;
    if (up.closed) return;
    const idle = up.ep.idle;
    if (idle.length >= this.opts.maxIdlePerEndpoint || up.pending !== undefined) {
      up.close();
      return;
    }
    up.resumeReading(); // an idle socket must notice the upstream closing it
    up.idleSince = now;
    idle.push(up);
  }

  /** Close idle connections older than the idle timeout (called from the proxy's sweep). */
  sweep(now: number): void {
    for (const st of this.endpoints.values()) {
      for (const up of st.idle) if (now - up.idleSince > this.opts.idleTimeoutMs) up.close();
    }
  }

  closeAll(): void {
    for (const st of this.endpoints.values()) for (const up of [...st.idle]) up.close();
  }
}
