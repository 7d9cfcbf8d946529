// One client connection of the HTTP proxy: request parsing, forwarding, response relay, retries and timeouts.
//
// One exchange at a time per connection (pipelined requests wait in inBuf):
//
//   HEAD --complete head--> [BODY: streaming request body] --> AWAIT --response done--> HEAD
//     |                                                          \--101--> TUNNEL (bytes both ways)
//     \--bad head--> refuse 400/405/408/431/505 + close (nothing is forwarded)
//
// Every way an exchange ends goes through endExchange(how, status, outcome): it resets the exchange's
// fields, disarms its deadlines, counts the status, reports the attempt's outcome to the pool once,
// disposes of the upstream connection and then reads the next request, closes or cuts the client.
// A failed attempt that is retried ends through endAttempt alone (the exchange goes on).
//
// Timeouts (HAProxy's split): the server timeout (`requestTimeoutMs`) bounds upstream inactivity
// while the proxy waits on the upstream; while the client does not take response bytes (the upstream
// is paused for it) the client timeout (`clientIdleTimeoutMs`) applies instead, and its expiry is the
// client's fault, never reported to the pool as an upstream failure. A request body must arrive
// whole within `requestTimeoutMs` of the head (bytes trickled one at a time do not extend it).
//
// Hot path: one write() per message per direction, no Promise/Request/Response/Headers objects;
// deadlines are fields checked by the proxy's sweep, not a timer per request.

import type { Socket } from "bun";
import { ChunkedDecoder, CHUNKED_ERROR } from "./chunked-decoder.ts";
import type { DeadlineClock } from "./deadline-clock.ts";
import { buildRequestHead, buildResponseHead, createForwardTail, RESP_CONN_CLOSE, RESP_CONN_KEEP, RESP_CONN_NONE, type ForwardTail } from "./head-rewrite.ts";
import {
  BODY_CHUNKED, BODY_CLOSE, BODY_LENGTH, BODY_NONE, createHead, findHeader, findHeadEnd, headerValue,
  parseRequestHead, parseResponseHead, PARSE_OK, type Head,
} from "./http-parser.ts";
import type { ProxyEndpoint, ProxyOutcome, ProxyPool, RequestContext } from "./proxy-pool.ts";
import type { ProxyStats } from "./proxy-stats.ts";
import { refusal } from "./refusals.ts";
import type { RetryBudget } from "./retry-budget.ts";
import type { UpstreamConn, UpstreamOwner, UpstreamPool } from "./upstream-pool.ts";

export const ST_HEAD = 0, ST_BODY = 1, ST_AWAIT = 2, ST_TUNNEL = 3, ST_CLOSED = 4;
const R_NONE = 0, R_HEAD = 1, R_BODY = 2;
export const DL_NONE = 0, DL_IDLE = 1, DL_HEADER = 2, DL_CONNECT = 3, DL_REQUEST = 4, DL_HOLD = 5, DL_CLIENT = 6;
/** How an exchange ends: next request (or close), a reply of our own, the client cut, or the client already gone. */
export const END_DONE = 0, END_REPLY = 1, END_CUT = 2, END_GONE = 3;
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
/** Pipelined bytes buffered while an exchange is in flight before the client is paused. */
const MAX_PIPELINED = 64 * 1024;

/** Limits every connection of one proxy applies (milliseconds, bytes, counts). */
export interface ExchangeLimits {
  maxHeaderBytes: number;
  headerTimeoutMs: number;
  /** Client inactivity: between requests, and while the client does not read the response (HAProxy's timeout client). */
  clientIdleTimeoutMs: number;
  connectTimeoutMs: number;
  /** Server inactivity while waiting on the upstream (HAProxy's timeout server), and the bound on receiving a request body. */
  requestTimeoutMs: number;
  maxRetries: number;
  /** With no endpoint at all (e.g. an app scaled to zero), hold a request this long for one to appear; 0 = 503 at once. */
  holdWhenEmptyMs: number;
}

/** Where the exchange gets its upstream connections (an UpstreamPool; a fake in unit tests). */
export type Upstreams = Pick<UpstreamPool, "acquire" | "release">;

/** State shared by all connections of one proxy. */
export interface Shared {
  opts: ExchangeLimits;
  pool: ProxyPool;
  upstreams: Upstreams;
  stats: ProxyStats;
  budget: RetryBudget;
  clock: DeadlineClock;
  conns: Set<ClientConn>;
  /** Requests held while the pool is empty; woken when endpoints appear. */
  held: Set<ClientConn>;
  proto: "http" | "https";
  via: string;
  closing: boolean;
  /**
   * Keep-alive connections to end after their current response, so their clients reconnect and the kernel hashes
   * them onto another balancer worker (set by the connection balance, conn-balancer.ts; 0 = none).
   */
  shed: number;
}

/** The client socket as the exchange uses it. */
export type ClientSocket = Pick<Socket<ClientConn>, "write" | "end" | "terminate" | "pause" | "resume">;

export class ClientConn implements UpstreamOwner, RequestContext {
  state = ST_HEAD;
  inBuf: Buffer | undefined = undefined;
  scanFrom = 0;
  readonly head: Head = createHead();
  headBuf: Buffer = Buffer.alloc(0);
  readonly tail: ForwardTail;
  out: Buffer | undefined = undefined;
  endAfterFlush = false;
  /** The one inactivity deadline of `dlKind` (clock ms). */
  deadline = 0;
  dlKind = DL_NONE;
  /** Clock ms by which the request body must be complete; 0 = none. */
  bodyDeadline = 0;
  // exchange
  method = "";
  keepAlive = true;
  clientMinor = 1;
  upgrade = false;
  reqKind = BODY_NONE;
  reqRemaining = 0;
  readonly reqChunks = new ChunkedDecoder();
  firstWrite: Buffer | undefined = undefined;
  retryable = false;
  attempt = 0;
  previous: ProxyEndpoint | undefined = undefined;
  ep: ProxyEndpoint | undefined = undefined;
  up: UpstreamConn | undefined = undefined;
  started = 0;
  isHeld = false;
  // response
  rState = R_NONE;
  respBuf: Buffer | undefined = undefined;
  readonly resp: Head = createHead();
  respKind = BODY_NONE;
  respRemaining = 0;
  readonly respChunks = new ChunkedDecoder();
  status = 0;
  /** Response bytes went to the client: from here on a failure can only cut the connection. */
  respStarted = false;

  constructor(readonly sock: ClientSocket, readonly sh: Shared, readonly clientIp: string) {
    this.tail = createForwardTail(clientIp, sh.proto, sh.via);
  }

  // ---- RequestContext (read lazily by the pool) ----
  path(): string {
    const b = this.headBuf, h = this.head;
    let e = h.targetStart;
    while (e < h.targetEnd && b[e] !== 63) e++;
    return b.toString("latin1", h.targetStart, e);
  }
  header(lowerName: string): string | undefined {
    const k = findHeader(this.headBuf, this.head, lowerName);
    return k < 0 ? undefined : headerValue(this.headBuf, this.head, k);
  }
  cookie(name: string): string | undefined {
    const all = this.header("cookie");
    if (all === undefined) return undefined;
    for (const part of all.split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
    return undefined;
  }

  // ---- client side ----
  /** pause/resume only on a change: each call is a native round trip and may re-arm the poller. */
  paused = false;
  pauseClient(): void {
    if (this.paused) return;
    this.paused = true;
    this.sock.pause();
  }
  resumeClient(): void {
    if (!this.paused) return;
    this.paused = false;
    this.sock.resume();
  }

  setDeadline(kind: number, ms: number): void {
    this.dlKind = kind;
    this.deadline = this.sh.clock.now + ms;
  }

  /** True when one of this connection's deadlines has passed (the sweep calls onDeadline then). */
  due(now: number): boolean {
    return (this.dlKind !== DL_NONE && now >= this.deadline) || (this.bodyDeadline !== 0 && now >= this.bodyDeadline);
  }

  onData(chunk: Buffer): void {
    this.sh.stats.bytesIn += chunk.length;
    switch (this.state) {
      case ST_HEAD:
        this.inBuf = this.inBuf === undefined ? chunk : Buffer.concat([this.inBuf, chunk]);
        this.nextRequest();
        return;
      case ST_BODY:
        this.forwardBody(chunk, 0);
        return;
      case ST_AWAIT:
        this.inBuf = this.inBuf === undefined ? chunk : Buffer.concat([this.inBuf, chunk]);
        if (this.inBuf.length > MAX_PIPELINED) this.pauseClient();
        return;
      case ST_TUNNEL:
        if (this.up && !this.up.send(chunk)) this.pauseClient();
        return;
    }
  }

  /** Parse and dispatch the next request from inBuf, if a complete head is there. */
  nextRequest(): void {
    const sh = this.sh;
    const buf = this.inBuf;
    if (buf === undefined || buf.length === 0) {
      this.inBuf = undefined;
      if (sh.closing) return this.end();
      this.setDeadline(DL_IDLE, sh.opts.clientIdleTimeoutMs);
      return;
    }
    if (this.dlKind !== DL_HEADER) this.setDeadline(DL_HEADER, sh.opts.headerTimeoutMs);
    const end = findHeadEnd(buf, this.scanFrom);
    if (end === -2) return this.refuse(400);
    if (end === -1 || end > sh.opts.maxHeaderBytes) {
      if (buf.length > sh.opts.maxHeaderBytes) return this.refuse(431);
      this.scanFrom = buf.length;
      return;
    }
    this.scanFrom = 0;
    const h = this.head;
    const st = parseRequestHead(buf, end, h);
    if (st !== PARSE_OK) return this.refuse(st);
    // No tunnel is configured on an HTTP balancer: a CONNECT forwarded as a plain request would open one anyway.
    if (h.method === "CONNECT") return this.refuse(405);
    this.headBuf = buf;
    this.method = h.method;
    this.keepAlive = h.keepAlive && !sh.closing;
    this.clientMinor = h.versionMinor;
    this.upgrade = h.upgrade;
    this.reqKind = h.bodyKind;
    let bodyEnd = end;
    let complete = true;
    if (h.bodyKind === BODY_LENGTH) {
      const take = Math.min(h.contentLength, buf.length - end);
      bodyEnd = end + take;
      this.reqRemaining = h.contentLength - take;
      complete = this.reqRemaining === 0;
    } else if (h.bodyKind === BODY_CHUNKED) {
      this.reqChunks.reset();
      const r = this.reqChunks.feed(buf, end, buf.length);
      if (r === CHUNKED_ERROR) return this.refuse(400);
      bodyEnd = r;
      complete = this.reqChunks.done;
    }
    this.firstWrite = buildRequestHead(buf, h, this.tail, end, bodyEnd);
    this.inBuf = bodyEnd < buf.length ? buf.subarray(bodyEnd) : undefined;
    this.retryable = complete && IDEMPOTENT.has(this.method);
    this.state = complete ? ST_AWAIT : ST_BODY;
    this.bodyDeadline = complete ? 0 : sh.clock.now + sh.opts.requestTimeoutMs;
    this.attempt = 0;
    this.previous = undefined;
    this.respStarted = false;
    this.rState = R_HEAD;
    this.respBuf = undefined;
    this.started = performance.now();
    sh.stats.requests++;
    sh.budget.onRequest();
    this.dispatch();
  }

  /** Pick an endpoint and send the first write there. */
  dispatch(holdMs = this.sh.opts.holdWhenEmptyMs): void {
    const sh = this.sh;
    const ep = sh.pool.pick(this);
    if (ep === undefined) {
      // No endpoint at all (an app scaled to zero): a first attempt waits up to holdMs for one to appear.
      if (this.attempt === 0 && holdMs > 0 && sh.pool.isEmpty?.() === true && !sh.closing) {
        sh.held.add(this);
        this.isHeld = true;
        this.setDeadline(DL_HOLD, holdMs);
        return;
      }
      return this.endExchange(END_REPLY, 503, undefined);
    }
    this.ep = ep;
    sh.pool.onStart?.(ep);
    const up = sh.upstreams.acquire(ep, this, sh.clock.now);
    this.up = up;
    up.ep.stats.requests++;
    if (up.connected) {
      this.setDeadline(DL_REQUEST, sh.opts.requestTimeoutMs);
      if (!up.send(this.firstWrite!)) this.pauseClient();
    } else {
      this.setDeadline(DL_CONNECT, sh.opts.connectTimeoutMs);
      up.pending = this.firstWrite;
    }
    if (!this.retryable) this.firstWrite = undefined;
  }

  forwardBody(chunk: Buffer, from: number): void {
    let end = chunk.length;
    if (this.reqKind === BODY_LENGTH) {
      const take = Math.min(this.reqRemaining, end - from);
      this.reqRemaining -= take;
      end = from + take;
    } else {
      const r = this.reqChunks.feed(chunk, from, end);
      if (r === CHUNKED_ERROR) return this.abortExchange();
      end = r;
    }
    const done = this.reqKind === BODY_LENGTH ? this.reqRemaining === 0 : this.reqChunks.done;
    if (end > from) {
      const part = from === 0 && end === chunk.length ? chunk : chunk.subarray(from, end);
      if (this.up !== undefined && !this.up.send(part)) this.pauseClient();
    }
    // The upstream is not expected to speak while the client is still sending.
    if (this.dlKind === DL_REQUEST) this.deadline = this.sh.clock.now + this.sh.opts.requestTimeoutMs;
    if (done) {
      this.bodyDeadline = 0;
      this.state = this.rState === R_NONE ? ST_HEAD : ST_AWAIT;
      if (end < chunk.length) this.inBuf = chunk.subarray(end);
      if (this.state === ST_HEAD) this.nextRequest();
    }
  }

  onDrain(): void {
    const o = this.out;
    if (o !== undefined) {
      this.out = undefined;
      if (!this.write(o)) {
        if (this.dlKind === DL_CLIENT) this.deadline = this.sh.clock.now + this.sh.opts.clientIdleTimeoutMs;
        return;
      }
    }
    if (this.endAfterFlush) return this.end();
    const up = this.up;
    if (up === undefined) return;
    // The client caught up: waiting is on the upstream again.
    if (this.dlKind === DL_CLIENT) this.setDeadline(DL_REQUEST, this.sh.opts.requestTimeoutMs);
    up.resumeReading();
  }

  /** Ordered write to the client; false when bytes wait for drain (caller pauses its source). */
  write(data: Buffer): boolean {
    if (this.out !== undefined) {
      this.out = Buffer.concat([this.out, data]);
      return false;
    }
    const n = this.sock.write(data);
    if (n > 0) this.sh.stats.bytesOut += n;
    if (n >= 0 && n < data.length) {
      this.out = data.subarray(n);
      return false;
    }
    return true;
  }

  end(): void {
    if (this.out !== undefined) {
      this.endAfterFlush = true;
      return;
    }
    this.sock.end();
  }

  /** Refuse a request we will not forward, then close (the framing of what follows is unknown). */
  refuse(status: number): void {
    this.sh.stats.requests++;
    this.inBuf = undefined;
    this.keepAlive = false;
    this.endExchange(END_REPLY, status, undefined);
  }

  // ---- upstream side ----
  onUpstreamOpen(up: UpstreamConn): void {
    if (up !== this.up) return;
    this.setDeadline(DL_REQUEST, this.sh.opts.requestTimeoutMs);
    if (up.flush()) this.resumeClient();
    else this.pauseClient();
  }

  onUpstreamDrain(up: UpstreamConn): void {
    if (up === this.up) this.resumeClient();
  }

  onUpstreamData(up: UpstreamConn, chunk: Buffer): void {
    if (up !== this.up) return;
    if (this.dlKind === DL_REQUEST) this.deadline = this.sh.clock.now + this.sh.opts.requestTimeoutMs;
    if (this.rState === R_BODY) return this.forwardResponseBody(chunk, 0);
    if (this.state === ST_TUNNEL) {
      if (!this.write(chunk)) up.pauseReading();
      return;
    }
    this.respBuf = this.respBuf === undefined ? chunk : Buffer.concat([this.respBuf, chunk]);
    this.responseHead();
  }

  private responseHead(): void {
    const sh = this.sh;
    for (;;) {
      const buf = this.respBuf!;
      const end = findHeadEnd(buf, 0);
      if (end < 0 || end > sh.opts.maxHeaderBytes) {
        if (end === -2 || buf.length > sh.opts.maxHeaderBytes) return this.badGateway();
        return;
      }
      const h = this.resp;
      if (parseResponseHead(buf, end, h, this.method === "HEAD") !== PARSE_OK) return this.badGateway();
      this.status = h.status;
      if (h.status === 101) {
        if (!this.upgrade) return this.badGateway();
        this.state = ST_TUNNEL;
        this.rState = R_NONE;
        this.dlKind = DL_NONE;
        this.bodyDeadline = 0;
        this.respStarted = true;
        sh.stats.response(101);
        this.up!.ep.stats.response(101);
        this.write(buf);
        this.respBuf = undefined;
        const pending = this.inBuf;
        this.inBuf = undefined;
        if (pending !== undefined) this.up!.send(pending);
        return;
      }
      if (h.status < 200) {
        this.respStarted = true;
        this.write(buf.subarray(0, end));
        if (end === buf.length) { this.respBuf = undefined; return; }
        this.respBuf = buf.subarray(end);
        continue;
      }
      this.respBuf = undefined;
      this.respKind = h.bodyKind;
      let bodyEnd = end;
      if (h.bodyKind === BODY_LENGTH) {
        const take = Math.min(h.contentLength, buf.length - end);
        this.respRemaining = h.contentLength - take;
        bodyEnd = end + take;
      } else if (h.bodyKind === BODY_CHUNKED) {
        this.respChunks.reset();
        const r = this.respChunks.feed(buf, end, buf.length);
        if (r === CHUNKED_ERROR) return this.badGateway();
        bodyEnd = r;
      } else if (h.bodyKind === BODY_CLOSE) {
        bodyEnd = buf.length;
        this.keepAlive = false;
      }
      // Shed for balance only a connection with nothing pipelined behind this request (that would be lost).
      if (sh.shed > 0 && this.keepAlive && this.state === ST_AWAIT && this.inBuf === undefined) {
        sh.shed--;
        this.keepAlive = false;
      }
      const cookie = sh.pool.stickyCookie?.(this.ep!, this);
      const conn = !this.keepAlive ? RESP_CONN_CLOSE : this.clientMinor === 0 ? RESP_CONN_KEEP : RESP_CONN_NONE;
      const raw = (!h.anyDrop || h.dropsOnlyKeepAlive) && cookie === undefined && conn === RESP_CONN_NONE;
      const data = raw
        ? (bodyEnd === buf.length ? buf : buf.subarray(0, bodyEnd))
        : buildResponseHead(buf, h, cookie, conn, end, bodyEnd);
      this.rState = R_BODY;
      this.respStarted = true;
      const flowing = this.write(data);
      if (bodyEnd < buf.length && this.respKind !== BODY_CLOSE) return this.upstreamProtocolExtra();
      if (this.responseComplete()) return this.endExchange(END_DONE, this.status, this.status);
      if (!flowing) this.waitForClient();
      return;
    }
  }

  /** The client does not take bytes: stop reading the upstream, and the client timeout replaces the server timeout. */
  private waitForClient(): void {
    this.up?.pauseReading();
    if (this.dlKind === DL_REQUEST) this.setDeadline(DL_CLIENT, this.sh.opts.clientIdleTimeoutMs);
  }

  private responseComplete(): boolean {
    switch (this.respKind) {
      case BODY_NONE: return true;
      case BODY_LENGTH: return this.respRemaining === 0;
      case BODY_CHUNKED: return this.respChunks.done;
      default: return false;
    }
  }

  private forwardResponseBody(chunk: Buffer, from: number): void {
    let end = chunk.length;
    if (this.respKind === BODY_LENGTH) {
      const take = Math.min(this.respRemaining, end - from);
      this.respRemaining -= take;
      end = from + take;
    } else if (this.respKind === BODY_CHUNKED) {
      const r = this.respChunks.feed(chunk, from, end);
      if (r === CHUNKED_ERROR) return this.endExchange(END_CUT, 0, "protocol");
      end = r;
    }
    const flowing = this.write(end === chunk.length && from === 0 ? chunk : chunk.subarray(from, end));
    if (end < chunk.length) return this.upstreamProtocolExtra();
    if (this.responseComplete()) return this.endExchange(END_DONE, this.status, this.status);
    if (!flowing) this.waitForClient();
  }

  /** Bytes after the end of a response: the upstream broke framing; finish this one, never reuse it. */
  private upstreamProtocolExtra(): void {
    this.resp.keepAlive = false;
    this.endExchange(END_DONE, this.status, this.status);
  }

  /**
   * The one end of a failed attempt: count it on the endpoint, report it to the pool once, drop the upstream
   * connection (released for reuse only after a complete response on a keep-alive connection).
   */
  private endAttempt(outcome: ProxyOutcome | undefined, status: number, reuse: boolean, latencyMs = -1): void {
    const up = this.up, ep = this.ep;
    this.up = undefined;
    this.ep = undefined;
    if (up !== undefined) {
      const es = up.ep.stats;
      if (status !== 0) es.response(status);
      if (typeof outcome === "string" && outcome !== "client") es.errors++;
      if (reuse) this.sh.upstreams.release(up, this.sh.clock.now);
      else {
        up.owner = undefined;
        up.abort();
      }
    }
    if (ep !== undefined && outcome !== undefined) this.sh.pool.onDone?.(ep, latencyMs >= 0 ? latencyMs : performance.now() - this.started, outcome);
  }

  /**
   * The one end of an exchange. `status` is what the client got (0: nothing complete); `outcome` is reported to
   * the pool for the endpoint in use, if any ("client": the client's doing, not the upstream's).
   */
  endExchange(how: number, status: number, outcome: ProxyOutcome | undefined): void {
    const sh = this.sh;
    const up = this.up;
    let latency = -1;
    if (how === END_DONE && up !== undefined) {
      latency = performance.now() - this.started;
      sh.stats.latency.recordMs(latency);
      up.ep.stats.latency.recordMs(latency);
    }
    const reuse = how === END_DONE && up !== undefined && this.resp.keepAlive && this.state === ST_AWAIT && up.pending === undefined;
    this.endAttempt(outcome, status, reuse, latency);
    if (status !== 0) sh.stats.response(status);
    if (how !== END_DONE && how !== END_GONE && typeof outcome === "string") sh.stats.errors++;
    this.rState = R_NONE;
    this.respBuf = undefined;
    this.firstWrite = undefined;
    this.dlKind = DL_NONE;
    this.bodyDeadline = 0;
    if (this.isHeld) {
      this.isHeld = false;
      sh.held.delete(this);
    }
    if (how === END_GONE || this.state === ST_CLOSED) {
      this.state = ST_CLOSED;
      return;
    }
    if (how === END_CUT) {
      this.state = ST_CLOSED;
      return this.sock.terminate();
    }
    // The rest of an unfinished request body cannot be skipped safely: close after answering.
    const keep = this.keepAlive && this.state !== ST_BODY && this.state !== ST_TUNNEL;
    if (how === END_REPLY) this.write(refusal(status, keep));
    if (!keep) {
      this.state = ST_CLOSED;
      return this.end();
    }
    this.state = ST_HEAD;
    this.resumeClient();
    this.nextRequest();
  }

  onUpstreamClose(up: UpstreamConn): void {
    if (up !== this.up) return;
    if (this.state === ST_TUNNEL) return this.endExchange(END_DONE, 0, undefined);
    if (this.rState === R_BODY && this.respKind === BODY_CLOSE) {
      this.keepAlive = false;
      return this.endExchange(END_DONE, this.status, this.status);
    }
    this.upstreamFailed(up.connected ? "reset" : "connect");
  }

  /** No usable response from this attempt: retry it elsewhere, answer 502/504 ourselves, or cut a started response. */
  private upstreamFailed(outcome: ProxyOutcome): void {
    const sh = this.sh;
    if (this.respStarted) return this.endExchange(END_CUT, 0, outcome);
    if (this.retryable && outcome !== "timeout" && this.attempt < sh.opts.maxRetries && sh.budget.tryRetry()) {
      const ep = this.ep;
      if (this.up !== undefined) this.up.ep.stats.retries++;
      this.endAttempt(outcome, 0, false);
      this.attempt++;
      this.previous = ep;
      this.respBuf = undefined;
      this.rState = R_HEAD;
      sh.stats.retries++;
      return this.dispatch();
    }
    this.endExchange(END_REPLY, outcome === "timeout" ? 504 : 502, outcome);
  }

  /** An unparseable or truncated response head: 502, since nothing of it reached the client. */
  private badGateway(): void {
    if (this.respStarted) return this.endExchange(END_CUT, 0, "protocol");
    this.endExchange(END_REPLY, 502, "protocol");
  }

  /** Malformed request framing mid-stream: nothing sensible can be said to either side any more. */
  abortExchange(): void {
    this.endExchange(END_CUT, 0, this.ep !== undefined ? "client" : undefined);
  }

  /** Called by the sweep when due(now); must not throw (the sweep still guards it). */
  onDeadline(now: number): void {
    if (this.bodyDeadline !== 0 && now >= this.bodyDeadline) {
      // A request body that has not arrived in time is the client's doing.
      this.keepAlive = false;
      if (this.respStarted) return this.endExchange(END_CUT, 0, "client");
      return this.endExchange(END_REPLY, 408, "client");
    }
    const kind = this.dlKind;
    this.dlKind = DL_NONE;
    switch (kind) {
      case DL_IDLE:
        this.state = ST_CLOSED;
        return this.end();
      case DL_HEADER:
        return this.refuse(408);
      case DL_CONNECT:
        if (this.up === undefined) return this.endExchange(END_CUT, 0, undefined);
        return this.upstreamFailed("connect");
      case DL_REQUEST:
        if (this.up === undefined) return this.endExchange(END_CUT, 0, undefined);
        return this.upstreamFailed("timeout");
      case DL_CLIENT:
        return this.endExchange(END_CUT, 0, "client");
      case DL_HOLD:
        return this.endExchange(END_REPLY, 503, undefined);
    }
  }

  /** The pool changed while this request was held: try again (it may be held again, within what is left). */
  wake(): void {
    if (!this.isHeld || this.state === ST_CLOSED) return;
    this.isHeld = false;
    this.sh.held.delete(this);
    const left = this.deadline - this.sh.clock.now;
    this.dlKind = DL_NONE;
    this.dispatch(Math.max(0, left));
  }

  onClose(): void {
    if (this.state === ST_CLOSED && this.up === undefined && !this.isHeld) return;
    this.endExchange(END_GONE, 0, this.up !== undefined ? "client" : undefined);
  }
}
