// HTTP/1.1 reverse proxy on raw Bun.listen sockets with pooled keep-alive upstream sockets (see http-exchange.ts).
//
// Lifecycle: createHttpProxy starts listening (reusePort, so several workers share the port);
// reloadTls swaps certificates by opening a new listener on the same port and stopping the old
// one from accepting while its open connections keep going; close stops accepting, lets
// in-flight exchanges finish for a bounded time, then cuts the rest (idempotent).

import type { Socket, TCPSocketListener, TCPSocketListenOptions } from "bun";
import { createDeadlineClock } from "./deadline-clock.ts";
import { createH2Front, type H2Front, type H2FrontOptions } from "./h2-front.ts";
import { ClientConn, DL_IDLE, DL_NONE, ST_CLOSED, ST_HEAD, type Shared } from "./http-exchange.ts";
import type { ProxyPool } from "./proxy-pool.ts";
import { ProxyStats, snapshotAll, type ProxyStatsSnapshot } from "./proxy-stats.ts";
import { RetryBudget } from "./retry-budget.ts";
import { UpstreamPool } from "./upstream-pool.ts";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface UpstreamTlsOptions {
  /** PEM file with the CA(s) to trust; the system store when absent. */
  caFile?: string;
  serverName?: string;
  /** Default true: an upstream certificate that does not verify fails the connection. */
  verify?: boolean;
}

export interface HttpProxyOptions {
  hostname: string;
  port: number;
  pool: ProxyPool;
  /** Hold requests this long when the pool is empty (scale from zero); default 0: answer 503 at once. */
  holdWhenEmptyMs?: number;
  tls?: TlsFiles;
  upstreamTls?: UpstreamTlsOptions;
  /** Name in the Via header (default "polis"). */
  via?: string;
  maxHeaderBytes?: number;
  headerTimeoutMs?: number;
  clientIdleTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Upstream inactivity limit while waiting on it (504 if no response byte came yet), and the bound on receiving a request body (408). */
  requestTimeoutMs?: number;
  maxRetries?: number;
  retryRatio?: number;
  retryMinPerSecond?: number;
  maxIdlePerEndpoint?: number;
  upstreamIdleTimeoutMs?: number;
  /** HTTP/2 on this listener (h2c prior knowledge, h2 by ALPN): streams are proxied by h2-front.ts. */
  h2?: Pick<H2FrontOptions, "upstream" | "upstreamTls" | "maxConcurrentStreams" | "upstreamMaxStreams">;
}

export interface HttpProxy {
  readonly port: number;
  stats(reset?: boolean): ProxyStatsSnapshot;
  reloadTls(files: TlsFiles): void;
  /** Stop accepting, let in-flight exchanges finish for up to graceMs, then cut the rest. */
  close(graceMs?: number): Promise<void>;
  /** Requests waiting for an endpoint (see holdWhenEmptyMs). */
  held(): number;
  /** The pool changed: held requests try again. */
  wake(): void;
  /** Open client connections. */
  connections(): number;
  /** End this many keep-alive connections after their current response (replaces the previous budget). */
  shed(n: number): void;
  /** The HTTP/2 side, when on. */
  readonly h2?: H2Front;
}

/** The client connection preface starts "PRI * HTTP/2.0": no HTTP/1.1 request starts with "PRI ". */
/** ALPN wire list (length-prefixed names): h2 first, HTTP/1.1 for clients that do not speak it. */
const ALPN_H2_H1 = Buffer.from("\x02h2\x08http/1.1", "latin1");
const isH2Preface = (b: Buffer) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x52 && b[2] === 0x49 && b[3] === 0x20;

/**
 * At close, an idle keep-alive connection is kept this long for a request already on its way (answered with
 * Connection: close): ending it at once resets a request the client sent a moment earlier, which a client such as
 * wrk counts as failed. A busy connection closes after its current response instead.
 */
const CLOSE_IDLE_LINGER_MS = 250;

export function createHttpProxy(opts: HttpProxyOptions): HttpProxy {
  const clock = createDeadlineClock();
  const o = {
    maxHeaderBytes: opts.maxHeaderBytes ?? 16 * 1024,
    headerTimeoutMs: opts.headerTimeoutMs ?? 10_000,
    clientIdleTimeoutMs: opts.clientIdleTimeoutMs ?? 60_000,
    connectTimeoutMs: opts.connectTimeoutMs ?? 3_000,
    requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
    maxRetries: opts.maxRetries ?? 2,
    holdWhenEmptyMs: opts.holdWhenEmptyMs ?? 0,
  };
  const upstreamTls = opts.upstreamTls
    ? {
      rejectUnauthorized: opts.upstreamTls.verify ?? true,
      ...(opts.upstreamTls.caFile ? { ca: Bun.file(opts.upstreamTls.caFile) } : {}),
      ...(opts.upstreamTls.serverName ? { serverName: opts.upstreamTls.serverName } : {}),
    }
    : undefined;
  const upstreams = new UpstreamPool({
    maxIdlePerEndpoint: opts.maxIdlePerEndpoint ?? 128,
    idleTimeoutMs: opts.upstreamIdleTimeoutMs ?? 4_000,
    ...(upstreamTls ? { tls: upstreamTls } : {}),
  });
  const stats = new ProxyStats();
  const sh: Shared = {
    opts: o, pool: opts.pool, upstreams, stats, clock, conns: new Set(), held: new Set(),
    budget: new RetryBudget({ now: () => clock.now }, {
      ...(opts.retryRatio !== undefined ? { ratio: opts.retryRatio } : {}),
      ...(opts.retryMinPerSecond !== undefined ? { minPerSecond: opts.retryMinPerSecond } : {}),
    }),
    proto: opts.tls ? "https" : "http", via: opts.via ?? "polis", closing: false, shed: 0,
  };
  const h2 = opts.h2
    ? createH2Front({
        ...opts.h2,
        pool: opts.pool,
        stats,
        endpointStats: upstreams.stats,
        budget: sh.budget,
        proto: sh.proto,
        maxHeaderBytes: o.maxHeaderBytes,
        connectTimeoutMs: o.connectTimeoutMs,
        requestTimeoutMs: o.requestTimeoutMs,
        idleTimeoutMs: o.clientIdleTimeoutMs,
        maxRetries: o.maxRetries,
      })
    : undefined;
  const handler = {
    binaryType: "buffer" as const,
    open(s: Socket<ClientConn>) {
      const c = new ClientConn(s, sh, s.remoteAddress);
      s.data = c;
      sh.conns.add(c);
      stats.active++;
      c.setDeadline(DL_IDLE, o.clientIdleTimeoutMs);
    },
    data(s: Socket<ClientConn>, chunk: Buffer) {
      const c = s.data;
      // A connection's first bytes decide its protocol: the HTTP/2 preface hands it to the HTTP/2 side for good.
      if (h2 !== undefined && c.method === "" && c.inBuf === undefined && c.state === ST_HEAD) {
        const preface = isH2Preface(chunk);
        // Endpoints that speak only HTTP/2 take HTTP/1.1 clients through the HTTP/2 side as well.
        if ((preface || h2.translatesHttp1) && sh.conns.delete(c)) {
          stats.active--;
          c.dlKind = DL_NONE;
          s.data = (preface ? h2.adopt(s as Socket<unknown>, chunk, c.clientIp) : h2.adoptHttp1(s as Socket<unknown>, chunk, c.clientIp)) as unknown as ClientConn;
          return;
        }
      }
      c.onData(chunk);
    },
    drain(s: Socket<ClientConn>) {
      s.data.onDrain();
    },
    close(s: Socket<ClientConn>) {
      const c = s.data;
      if (c === undefined) return;
      if (!sh.conns.delete(c)) {
        if (!(c instanceof ClientConn)) (c as { onClose(): void }).onClose();
        return;
      }
      stats.active--;
      c.onClose();
    },
    error(s: Socket<ClientConn>) {
      s.terminate();
    },
  };
  const listen = (tls: TlsFiles | undefined, port: number): TCPSocketListener<ClientConn> => {
    // reusePort is honoured by Bun.listen on Linux but missing from its option type.
    const options: TCPSocketListenOptions<ClientConn> & { reusePort: boolean } = {
      hostname: opts.hostname,
      port,
      reusePort: true,
      socket: handler,
      ...(tls ? { tls: { cert: Bun.file(tls.certFile), key: Bun.file(tls.keyFile), ...(h2 ? { ALPNProtocols: ALPN_H2_H1 } : {}) } } : {}),
    };
    return Bun.listen<ClientConn>(options);
  };
  let listener = listen(opts.tls, opts.port);
  const port = listener.port;

  const minTimeout = Math.min(o.headerTimeoutMs, o.clientIdleTimeoutMs, o.connectTimeoutMs, o.requestTimeoutMs);
  const tick = Math.max(5, Math.min(250, Math.floor(minTimeout / 4)));
  const sweep = setInterval(function sweepDeadlines() {
    const now = clock.tick();
    for (const c of sh.conns) {
      if (!c.due(now)) continue;
      try {
        c.onDeadline(now);
      } catch {
        // A fault in one connection's end path must not stop the sweep (or the worker): cut that connection.
        stats.errors++;
        c.state = ST_CLOSED;
        c.dlKind = DL_NONE;
        c.bodyDeadline = 0;
        c.sock.terminate();
      }
    }
    upstreams.sweep(now);
  }, tick);
  sweep.unref?.();

  let closed: Promise<void> | undefined;
  return {
    port,
    stats: (reset = false) => snapshotAll(stats, upstreams.stats, reset),
    held: () => sh.held.size,
    connections: () => sh.conns.size,
    ...(h2 ? { h2 } : {}),
    shed(n: number) {
      sh.shed = Math.max(0, Math.floor(n));
    },
    wake() {
      for (const c of [...sh.held]) c.wake();
    },
    reloadTls(files: TlsFiles) {
      const next = listen(files, port);
      listener.stop(false);
      listener = next;
    },
    close(graceMs = 5_000) {
      closed ??= (async () => {
        sh.closing = true;
        listener.stop(false);
        for (const c of sh.conns) {
          c.keepAlive = false;
          if (c.state === ST_HEAD && c.inBuf === undefined) c.setDeadline(DL_IDLE, Math.min(CLOSE_IDLE_LINGER_MS, graceMs));
        }
        const deadline = Date.now() + graceMs;
        const h2Closed = h2?.close(graceMs);
        while (sh.conns.size > 0 && Date.now() < deadline) await Bun.sleep(10);
        await h2Closed;
        for (const c of sh.conns) c.sock.terminate();
        clearInterval(sweep);
        upstreams.closeAll();
        listener.stop(true);
      })();
      return closed;
    },
  };
}
