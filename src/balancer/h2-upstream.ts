// Pooled, multiplexed HTTP/2 connections to upstream endpoints (h2c, or h2 over TLS with ALPN): each endpoint gets
// as few sessions as its streams need, each carrying at most min(our bound, the peer's SETTINGS) streams at once.
//
// Session states: connecting -> ready -> draining (GOAWAY received, or idle too long) -> closed. A draining session
// takes no new stream; its streams in flight finish. Errors and closes remove it from the pool.
import http2 from "node:http2";
import type { ProxyEndpoint } from "./proxy-pool.ts";

export interface H2UpstreamOptions {
  readonly protocol: "h2c" | "h2";
  /** Streams one upstream connection carries at once (the peer's own limit applies too). */
  readonly maxStreams: number;
  readonly connectTimeoutMs: number;
  /** A session with no stream for this long is closed. */
  readonly idleTimeoutMs: number;
  readonly tls?: { readonly rejectUnauthorized: boolean; readonly ca?: string; readonly servername?: string };
}

export class UpstreamSession {
  active = 0;
  /**
   * Streams of this session we stopped reading (their client is slow). Their unread data holds the connection's
   * flow-control window, which may then stall any other stream on it: new streams go to another session meanwhile.
   */
  paused = 0;
  ready = false;
  draining = false;
  closed = false;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly whenReady: Promise<void>;

  constructor(readonly s: http2.ClientHttp2Session, readonly ep: ProxyEndpoint, connectTimeoutMs: number) {
    this.whenReady = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(Object.assign(new Error(`connect to ${ep.address}:${ep.port} timed out`), { kind: "connect" }));
        s.destroy();
      }, connectTimeoutMs);
      s.once("connect", () => {
        clearTimeout(timer);
        this.ready = true;
        resolve();
      });
      s.once("error", (e) => {
        clearTimeout(timer);
        reject(Object.assign(e, { kind: "connect" }));
      });
      s.once("close", () => {
        clearTimeout(timer);
        reject(Object.assign(new Error(`connection to ${ep.address}:${ep.port} closed`), { kind: "connect" }));
      });
    });
    // A rejection nobody awaits (a session that failed after its streams were placed elsewhere) is not a crash.
    this.whenReady.catch(() => {});
  }

  /** Streams this session may still open now. */
  capacity(limit: number): number {
    const peer = this.s.remoteSettings?.maxConcurrentStreams ?? limit;
    return Math.min(limit, peer > 0 ? peer : limit) - this.active;
  }
}

export class H2Upstreams {
  private readonly byEndpoint = new Map<string, UpstreamSession[]>();

  constructor(private readonly o: H2UpstreamOptions) {}

  /** A session with room for one more stream to `ep`, opening one when every open session is full or draining. */
  acquire(ep: ProxyEndpoint): UpstreamSession {
    let list = this.byEndpoint.get(ep.id);
    if (list === undefined) this.byEndpoint.set(ep.id, (list = []));
    for (const u of list) {
      if (!u.draining && !u.closed && u.paused === 0 && u.capacity(this.o.maxStreams) > 0) return this.take(u);
    }
    return this.take(this.open(ep, list));
  }

  release(u: UpstreamSession): void {
    u.active--;
    if (u.active > 0 || u.closed) return;
    if (u.draining) {
      u.s.close();
      return;
    }
    u.idleTimer = setTimeout(() => {
      u.draining = true;
      u.s.close();
    }, this.o.idleTimeoutMs);
    u.idleTimer.unref?.();
  }

  /** Endpoints no longer in the pool: their sessions finish what they carry, then close. */
  retain(ids: ReadonlySet<string>): void {
    for (const [id, list] of this.byEndpoint) {
      if (ids.has(id)) continue;
      for (const u of list) this.drain(u);
      this.byEndpoint.delete(id);
    }
  }

  closeAll(): void {
    for (const list of this.byEndpoint.values()) for (const u of list) u.s.destroy();
    this.byEndpoint.clear();
  }

  sessions(): number {
    let n = 0;
    for (const list of this.byEndpoint.values()) n += list.length;
    return n;
  }

  private take(u: UpstreamSession): UpstreamSession {
    u.active++;
    if (u.idleTimer) clearTimeout(u.idleTimer);
    u.idleTimer = undefined;
    return u;
  }

  private drain(u: UpstreamSession): void {
    u.draining = true;
    if (u.active === 0) u.s.close();
  }

  private open(ep: ProxyEndpoint, list: UpstreamSession[]): UpstreamSession {
    const host = ep.address.includes(":") ? `[${ep.address}]` : ep.address;
    const tls = this.o.tls;
    const s = http2.connect(`${this.o.protocol === "h2" ? "https" : "http"}://${host}:${ep.port}`, {
      settings: { enablePush: false },
      ...(tls ? { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.servername ? { servername: tls.servername } : {}), ALPNProtocols: ["h2"] } : {}),
    });
    const u = new UpstreamSession(s, ep, this.o.connectTimeoutMs);
    list.push(u);
    const forget = () => {
      u.closed = true;
      if (u.idleTimer) clearTimeout(u.idleTimer);
      const i = list.indexOf(u);
      if (i >= 0) list.splice(i, 1);
    };
    // GOAWAY: the upstream is going away (a replica stopping); streams it already took finish, new ones go elsewhere.
    s.on("goaway", () => {
      u.draining = true;
      const i = list.indexOf(u);
      if (i >= 0) list.splice(i, 1);
    });
    s.on("close", forget);
    s.on("error", forget);
    return u;
  }
}
