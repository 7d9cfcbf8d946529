// HTTP/2 on an HTTP balancer's listener: connections that open with the HTTP/2 preface (h2c prior knowledge, or h2
// chosen by ALPN under TLS) run a node:http2 session; every stream is balanced on its own with the balancer's
// algorithm and proxied to an upstream over pooled HTTP/2 (h2c/h2) or HTTP/1.1 connections, streaming both ways
// with flow control, trailers passed through.
//
// One exchange per stream, one exit (end): pick -> [connect] -> request -> response -> body -> trailers -> end.
// A stream the upstream never took (connect failed, REFUSED_STREAM, GOAWAY before it was processed) is retried on
// another endpoint within the retry budget, its request body replayed from a bounded buffer; anything else that
// fails before a response is answered 502/504 (gRPC: trailers-only UNAVAILABLE / DEADLINE_EXCEEDED), and after it
// the stream is reset.
import type { Socket } from "bun";
import http from "node:http";
import http2 from "node:http2";
import { type AdoptedConn, SocketDuplex } from "./h2-duplex.ts";
import { H1Stream } from "./h2-h1-stream.ts";
import { H2Upstreams, type UpstreamSession } from "./h2-upstream.ts";
import type { ProxyEndpoint, ProxyOutcome, ProxyPool, RequestContext } from "./proxy-pool.ts";
import { ProxyStats } from "./proxy-stats.ts";
import type { RetryBudget } from "./retry-budget.ts";

const C = http2.constants;

export interface H2FrontOptions {
  readonly pool: ProxyPool;
  readonly stats: ProxyStats;
  /** Per-endpoint counters, shared with the HTTP/1.1 path (one snapshot per endpoint). */
  readonly endpointStats: Map<string, ProxyStats>;
  readonly budget: RetryBudget;
  readonly upstream: "http1" | "h2c" | "h2";
  readonly upstreamTls?: { readonly rejectUnauthorized: boolean; readonly ca?: string; readonly servername?: string };
  readonly proto: "http" | "https";
  /** Streams a client may have open on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  readonly upstreamMaxStreams: number;
  readonly maxHeaderBytes: number;
  readonly connectTimeoutMs: number;
  /** Bound on waiting for the upstream's response headers (504 / DEADLINE_EXCEEDED after it). */
  readonly requestTimeoutMs: number;
  /** A connection with no open stream for this long is closed with GOAWAY. */
  readonly idleTimeoutMs: number;
  readonly maxRetries: number;
}

export interface H2Front {
  /** Takes over a connection whose first bytes are the HTTP/2 preface. */
  adopt(sock: Socket<unknown>, first: Buffer, clientIp: string): AdoptedConn;
  /** True when endpoints speak only HTTP/2: HTTP/1.1 connections must come here too (adoptHttp1). */
  readonly translatesHttp1: boolean;
  /** Takes over an HTTP/1.1 connection: each request becomes one upstream HTTP/2 stream. */
  adoptHttp1(sock: Socket<unknown>, first: Buffer, clientIp: string): AdoptedConn;
  sessions(): number;
  upstreamSessions(): number;
  /** Endpoints still in the pool; upstream sessions of the others drain. */
  retain(ids: ReadonlySet<string>): void;
  /** GOAWAY to every client, wait up to graceMs for open streams, then cut. */
  close(graceMs: number): Promise<void>;
}

/** Request body kept for a replay on another endpoint; a larger body makes the stream not retryable once sent. */
const REPLAY_LIMIT = 64 * 1024;
/** Client-reset streams per second a connection may cause before it is told ENHANCE_YOUR_CALM (CVE-2023-44487). */
const RESET_BUDGET_FACTOR = 2;

/** Request headers that are hop-by-hop, or that HTTP/2 forbids (RFC 9113 8.2.2): never forwarded. */
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "http2-settings", "host"]);
const RESPONSE_DROP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

type Headers = http2.IncomingHttpHeaders;

function grpcStatusOf(why: "unavailable" | "timeout"): string {
  return why === "timeout" ? "4" : "14";
}

/** Why a request is malformed for a proxy (the HTTP/1.1 path's strictness: no smuggling through translation). */
function malformed(h: Headers): string | undefined {
  const method = h[":method"];
  if (method === "CONNECT") return "CONNECT is not proxied";
  if (typeof method !== "string" || typeof h[":path"] !== "string" || h[":path"] === "") return "missing :method or :path";
  if (h["transfer-encoding"] !== undefined || h.connection !== undefined || h.upgrade !== undefined) return "connection-specific header in an HTTP/2 request";
  const te = h.te;
  if (te !== undefined && te !== "trailers") return 'te other than "trailers"';
  const cl = h["content-length"];
  if (cl !== undefined && !/^\d{1,15}$/.test(String(cl))) return "invalid content-length";
  return undefined;
}

export function createH2Front(o: H2FrontOptions): H2Front {
  const upstreams = o.upstream === "http1" ? undefined : new H2Upstreams({ protocol: o.upstream, maxStreams: o.upstreamMaxStreams, connectTimeoutMs: o.connectTimeoutMs, idleTimeoutMs: 30_000, ...(o.upstreamTls ? { tls: o.upstreamTls } : {}) });
  const agent = o.upstream === "http1" ? new http.Agent({ keepAlive: true, maxSockets: Infinity, timeout: o.idleTimeoutMs }) : undefined;
  const sessions = new Set<http2.ServerHttp2Session>();
  let closing = false;

  const server = http2.createServer({
    settings: { maxConcurrentStreams: o.maxConcurrentStreams, maxHeaderListSize: o.maxHeaderBytes, enablePush: false },
    maxHeaderListPairs: 256,
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
    maxOutstandingPings: 10,
  });
  server.on("sessionError", () => {});
  server.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    if (closing) session.goaway(C.NGHTTP2_NO_ERROR);
    let resets = 0;
    let calmed = false;
    let windowStart = Date.now();
    const budget = o.maxConcurrentStreams * RESET_BUDGET_FACTOR;
    (session as unknown as { clientReset: () => void }).clientReset = () => {
      const now = Date.now();
      if (now - windowStart > 1000) {
        windowStart = now;
        resets = 0;
      }
      if (++resets > budget && !session.destroyed && !calmed) {
        calmed = true;
        o.stats.errors++;
        session.goaway(C.NGHTTP2_ENHANCE_YOUR_CALM);
        // Let the GOAWAY go out, then cut: the streams it still has are the flood's own.
        setTimeout(() => session.destroy(), 50).unref?.();
      }
    };
    session.setTimeout(o.idleTimeoutMs, () => {
      // Inactivity on the whole connection (no frames): a polite GOAWAY, then the socket goes.
      session.goaway(C.NGHTTP2_NO_ERROR);
      session.close();
    });
    session.on("error", () => {});
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: Headers) => {
    const ip = (stream.session?.socket as unknown as { remoteAddress?: string } | undefined)?.remoteAddress ?? "";
    new Exchange(stream, headers, ip).begin();
  });

  const h1server = o.upstream === "http1" ? undefined : http.createServer({ maxHeaderSize: o.maxHeaderBytes, requestTimeout: 0 });
  h1server?.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const ip = (req.socket as unknown as { remoteAddress?: string }).remoteAddress ?? "";
    const s = new H1Stream(req, res, o.proto);
    new Exchange(s as unknown as http2.ServerHttp2Stream, s.headers, ip).begin();
  });
  h1server?.on("clientError", (_e: Error, socket: { destroy(): void }) => socket.destroy());

  const endpointStats = (id: string) => {
    let s = o.endpointStats.get(id);
    if (s === undefined) o.endpointStats.set(id, (s = new ProxyStats()));
    return s;
  };

  class Exchange implements RequestContext {
    attempt = 0;
    previous: ProxyEndpoint | undefined;
    ep: ProxyEndpoint | undefined;
    started = 0;
    responded = false;
    done = false;
    up: http2.ClientHttp2Stream | http.ClientRequest | undefined;
    upIsH2 = false;
    status = 0;
    /** The upstream side paused until the client's side drains. */
    paused: { resume(): void } | undefined;
    pausedOn: UpstreamSession | undefined;
    upSession: UpstreamSession | undefined;
    timer: ReturnType<typeof setTimeout> | undefined;
    /** Request body so far, while it fits the replay buffer; undefined once it no longer does. */
    replay: Buffer[] | undefined = [];
    replayBytes = 0;
    bodyEnded: boolean;
    trailers: http2.OutgoingHttpHeaders | undefined;
    readonly grpc: boolean;

    constructor(readonly stream: http2.ServerHttp2Stream, readonly headers: Headers, readonly clientIp: string) {
      this.bodyEnded = stream.endAfterHeaders;
      this.grpc = String(headers["content-type"] ?? "").startsWith("application/grpc");
    }

    get method(): string {
      return String(this.headers[":method"]);
    }
    path(): string {
      const p = String(this.headers[":path"]);
      const q = p.indexOf("?");
      return q < 0 ? p : p.slice(0, q);
    }
    header(name: string): string | undefined {
      const v = this.headers[name];
      return v === undefined ? undefined : Array.isArray(v) ? v.join(", ") : String(v);
    }
    cookie(name: string): string | undefined {
      const all = this.headers.cookie;
      const text = Array.isArray(all) ? all.join("; ") : all;
      if (!text) return undefined;
      for (const part of text.split(";")) {
        const eq = part.indexOf("=");
        if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
      }
      return undefined;
    }

    begin(): void {
      const s = this.stream;
      o.stats.requests++;
      o.stats.active++;
      s.on("error", () => {});
      s.on("close", () => {
        if (this.done) return;
        // The client reset or went away before we finished: cancel the upstream side, count it toward rapid reset.
        (s.session as unknown as { clientReset?: () => void } | undefined)?.clientReset?.();
        this.cancelUpstream();
        this.end("client");
      });
      const bad = malformed(this.headers);
      if (bad !== undefined) return this.answer(400, bad);
      s.on("data", (chunk: Buffer) => {
        o.stats.bytesIn += chunk.length;
        if (this.replay !== undefined) {
          this.replayBytes += chunk.length;
          if (this.replayBytes <= REPLAY_LIMIT) this.replay.push(chunk);
          else this.replay = undefined;
        }
        const up = this.up;
        if (up !== undefined && !up.write(chunk)) s.pause();
      });
      s.on("end", () => {
        this.bodyEnded = true;
        this.up?.end();
      });
      // Nothing is read until an upstream stream exists to write into: the flow-control window holds the client.
      s.pause();
      this.forward();
    }

    forward(): void {
      const ep = o.pool.pick(this);
      if (ep === undefined) return this.answer(503, "no healthy endpoint", "unavailable");
      this.ep = ep;
      this.started = performance.now();
      o.pool.onStart?.(ep);
      endpointStats(ep.id).requests++;
      endpointStats(ep.id).active++;
      this.armTimer();
      if (upstreams === undefined) return this.forwardHttp1(ep);
      const u = upstreams.acquire(ep);
      this.upSession = u;
      if (u.ready) this.openStream(u);
      else
        u.whenReady.then(
          () => !this.done && this.openStream(u),
          () => this.failAttempt("connect", true),
        );
    }

    forwardHeaders(): http2.OutgoingHttpHeaders {
      const out: http2.OutgoingHttpHeaders = {};
      for (const k in this.headers) {
        if (HOP.has(k)) continue;
        out[k] = this.headers[k];
      }
      if (out[":authority"] === undefined && this.headers.host !== undefined) out[":authority"] = this.headers.host;
      const xff = this.headers["x-forwarded-for"];
      out["x-forwarded-for"] = xff ? `${Array.isArray(xff) ? xff.join(", ") : xff}, ${this.clientIp}` : this.clientIp;
      out["x-forwarded-proto"] = o.proto;
      return out;
    }

    openStream(u: UpstreamSession): void {
      let req: http2.ClientHttp2Stream;
      try {
        req = u.s.request(this.forwardHeaders(), { endStream: this.bodyEnded && this.replayBytes === 0 });
      } catch {
        // The session closed between the pick and now (GOAWAY, error): nothing reached the upstream.
        return this.failAttempt("connect", true);
      }
      this.up = req;
      this.upIsH2 = true;
      req.on("response", (h: Headers) => this.onResponse(h, req.endAfterHeaders));
      req.on("data", (chunk: Buffer) => this.onResponseData(chunk, req));
      req.on("trailers", (t: Headers) => (this.trailers = stripPseudo(t)));
      req.on("end", () => this.finishResponse());
      req.on("error", () => {});
      req.on("close", () => {
        if (this.done || this.up !== req) return;
        const code = req.rstCode ?? C.NGHTTP2_INTERNAL_ERROR;
        if (this.responded) {
          if (this.stream.writableEnded) return this.end(this.status || 200);
          this.cut(code);
          return this.end("reset");
        }
        // REFUSED_STREAM (RFC 9113 8.7) means the upstream did not process it: safe to send elsewhere.
        this.failAttempt(code === C.NGHTTP2_REFUSED_STREAM ? "connect" : "reset", code === C.NGHTTP2_REFUSED_STREAM);
      });
      req.on("drain", () => this.stream.resume());
      this.sendBody(req);
    }

    sendBody(up: { write(b: Buffer): boolean; end(): void }): void {
      if (this.replay !== undefined) for (const b of this.replay) up.write(b);
      if (this.bodyEnded) {
        if (this.replayBytes > 0) up.end();
      } else this.stream.resume();
    }

    forwardHttp1(ep: ProxyEndpoint): void {
      const h: http.OutgoingHttpHeaders = {};
      for (const k in this.headers) if (k[0] !== ":" && !HOP.has(k) && k !== "te") h[k] = this.headers[k];
      h.host = String(this.headers[":authority"] ?? this.headers.host ?? ep.address);
      const fwd = this.forwardHeaders();
      h["x-forwarded-for"] = fwd["x-forwarded-for"];
      h["x-forwarded-proto"] = o.proto;
      const req = http.request({ host: ep.address, port: ep.port, method: this.method, path: String(this.headers[":path"]), headers: h, agent });
      this.up = req;
      this.upIsH2 = false;
      req.on("response", (res: http.IncomingMessage) => {
        const out: Headers = { ":status": String(res.statusCode ?? 502) } as Headers;
        for (const k in res.headers) if (!RESPONSE_DROP.has(k)) out[k] = res.headers[k];
        this.onResponse(out, false);
        res.on("data", (chunk: Buffer) => this.onResponseData(chunk, res));
        res.on("end", () => {
          const t = stripPseudo(res.trailers as Headers);
          if (Object.keys(t).length > 0) this.trailers = t;
          this.finishResponse();
        });
        res.on("error", () => {});
        res.on("aborted", () => {
          if (this.done) return;
          this.cut(C.NGHTTP2_INTERNAL_ERROR);
          this.end("reset");
        });
      });
      req.on("error", (e: NodeJS.ErrnoException) => {
        if (this.done || this.up !== req) return;
        if (this.responded) {
          this.cut(C.NGHTTP2_INTERNAL_ERROR);
          return this.end("reset");
        }
        const connect = e.code === "ECONNREFUSED" || e.code === "EHOSTUNREACH" || e.code === "ENETUNREACH";
        this.failAttempt(connect ? "connect" : "reset", connect);
      });
      req.on("drain", () => this.stream.resume());
      this.sendBody(req);
      if (this.bodyEnded && this.replayBytes === 0) req.end();
    }

    onResponse(h: Headers, endStream: boolean): void {
      if (this.done) return;
      this.clearTimer();
      this.responded = true;
      const status = Number(h[":status"]);
      const out: http2.OutgoingHttpHeaders = {};
      for (const k in h) if (!RESPONSE_DROP.has(k)) out[k] = h[k];
      const s = this.stream;
      try {
        if (endStream) {
          s.respond(out, { endStream: true });
          return this.end(status);
        }
        s.respond(out, this.grpc || this.headers.te === "trailers" ? { waitForTrailers: true } : {});
      } catch {
        return this.end("client");
      }
      s.on("wantTrailers", () => {
        try {
          s.sendTrailers(this.trailers ?? {});
        } catch {
          // The client went away while we finished: nothing left to tell it.
        }
      });
      this.status = status;
    }

    onResponseData(chunk: Buffer, from: { pause(): void; resume(): void }): void {
      o.stats.bytesOut += chunk.length;
      if (this.stream.write(chunk) || this.paused !== undefined) return;
      // The client's window is full: stop reading the upstream (its window then fills too) until the client reads.
      this.paused = from;
      this.pausedOn = this.upSession;
      if (this.pausedOn !== undefined) this.pausedOn.paused++;
      from.pause();
      this.stream.once("drain", () => {
        const p = this.paused;
        this.unpause();
        p?.resume();
      });
    }

    finishResponse(): void {
      if (this.done) return;
      this.stream.end();
      this.end(this.status || 200);
    }

    /**
     * The upstream side broke after the response started. A gRPC client is told UNAVAILABLE in trailers (what a
     * replica that died mid-call means to it); anything else gets the stream reset, as the HTTP/1.1 path cuts the
     * connection.
     */
    cut(code: number): void {
      const s = this.stream;
      if (this.grpc && !s.destroyed) {
        this.trailers = { "grpc-status": "14", "grpc-message": encodeURIComponent(`upstream ${this.ep?.id ?? ""} went away mid-stream`) };
        try {
          s.end();
          return;
        } catch {
          // Fall through to a reset.
        }
      }
      s.close(code === C.NGHTTP2_NO_ERROR || code === C.NGHTTP2_CANCEL ? C.NGHTTP2_INTERNAL_ERROR : code);
    }

    /** The attempt failed before any response: retry when the upstream never took it, else answer. */
    failAttempt(outcome: "connect" | "reset" | "timeout", untaken: boolean): void {
      if (this.done) return;
      const ep = this.ep!;
      this.clearTimer();
      this.release(ep, outcome);
      this.up = undefined;
      const replayable = this.replay !== undefined;
      if (untaken && replayable && this.attempt < o.maxRetries && !closing && o.budget.tryRetry()) {
        o.stats.retries++;
        endpointStats(ep.id).retries++;
        this.attempt++;
        this.previous = ep;
        return this.forward();
      }
      this.answer(outcome === "timeout" ? 504 : 502, outcome === "timeout" ? "upstream did not answer in time" : `upstream failed (${outcome})`, outcome === "timeout" ? "timeout" : "unavailable", true);
    }

    /** Our own answer (no upstream response): plain status, or trailers-only gRPC status for gRPC calls. */
    answer(status: number, why: string, grpcWhy: "unavailable" | "timeout" = "unavailable", released = false): void {
      const s = this.stream;
      if (!s.destroyed && !s.headersSent) {
        try {
          if (this.grpc && status !== 400) s.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": grpcStatusOf(grpcWhy), "grpc-message": encodeURIComponent(why) }, { endStream: true });
          else {
            s.respond({ ":status": status, "content-type": "text/plain; charset=utf-8" });
            s.end(`${why}\n`);
          }
        } catch {
          // The client is gone already.
        }
      }
      if (!released && this.ep) this.release(this.ep, status >= 500 ? "reset" : status);
      this.finish(status);
    }

    armTimer(): void {
      this.clearTimer();
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.done || this.responded) return;
        this.cancelUpstream();
        this.failAttempt("timeout", false);
      }, o.requestTimeoutMs);
    }

    clearTimer(): void {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
    }

    cancelUpstream(): void {
      const up = this.up;
      this.up = undefined;
      if (up === undefined) return;
      if (this.upIsH2) (up as http2.ClientHttp2Stream).close(C.NGHTTP2_CANCEL);
      else (up as http.ClientRequest).destroy();
    }

    unpause(): void {
      this.paused = undefined;
      if (this.pausedOn !== undefined) this.pausedOn.paused--;
      this.pausedOn = undefined;
    }

    /** Endpoint bookkeeping of one attempt (also on a retry: each attempt ends once). */
    release(ep: ProxyEndpoint, outcome: ProxyOutcome): void {
      this.unpause();
      const es = endpointStats(ep.id);
      es.active--;
      const latency = performance.now() - this.started;
      if (typeof outcome === "number") {
        es.response(outcome);
        es.latency.recordMs(latency);
      } else es.errors++;
      o.pool.onDone?.(ep, latency, outcome);
      if (this.upSession !== undefined) {
        upstreams?.release(this.upSession);
        this.upSession = undefined;
      }
    }

    /** The one exit of a successful or cut exchange that had an upstream attempt in progress. */
    end(outcome: ProxyOutcome): void {
      if (this.done) return;
      if (this.ep !== undefined && (this.up !== undefined || this.upSession !== undefined)) this.release(this.ep, outcome);
      this.finish(typeof outcome === "number" ? outcome : 0);
    }

    finish(status: number): void {
      if (this.done) return;
      this.done = true;
      this.clearTimer();
      this.up = undefined;
      o.stats.active--;
      if (status > 0) {
        o.stats.response(status);
        o.stats.latency.recordMs(performance.now() - (this.started || performance.now()));
      } else o.stats.errors++;
    }
  }

  return {
    adopt(sock, first, clientIp) {
      const d = new SocketDuplex(sock, clientIp);
      server.emit("connection", d);
      d.onData(first);
      return d;
    },
    translatesHttp1: h1server !== undefined,
    adoptHttp1(sock, first, clientIp) {
      const d = new SocketDuplex(sock, clientIp);
      h1server!.emit("connection", d);
      d.onData(first);
      return d;
    },
    sessions: () => sessions.size,
    upstreamSessions: () => upstreams?.sessions() ?? 0,
    retain(ids) {
      upstreams?.retain(ids);
    },
    async close(graceMs) {
      closing = true;
      for (const s of sessions) if (!s.destroyed) s.goaway(C.NGHTTP2_NO_ERROR);
      const deadline = Date.now() + graceMs;
      while (sessions.size > 0 && Date.now() < deadline) {
        for (const s of sessions) if (!s.destroyed && (s as unknown as { state?: { streamCount?: number } }).state?.streamCount === 0) s.close();
        await Bun.sleep(10);
      }
      for (const s of sessions) s.destroy();
      upstreams?.closeAll();
      agent?.destroy();
    },
  };
}

function stripPseudo(h: Headers): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const k in h) if (k[0] !== ":") out[k] = h[k];
  return out;
}
