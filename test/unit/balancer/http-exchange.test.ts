// Every way an exchange ends leaves the connection at rest: no upstream, no armed deadline, one report to the pool.
import { describe, expect, test } from "bun:test";
import { ClientConn, DL_IDLE, DL_NONE, ST_CLOSED, ST_HEAD, type ClientSocket, type Shared } from "../../../src/balancer/http-exchange.ts";
import type { ProxyEndpoint, ProxyOutcome } from "../../../src/balancer/proxy-pool.ts";
import { ProxyStats } from "../../../src/balancer/proxy-stats.ts";
import { RetryBudget } from "../../../src/balancer/retry-budget.ts";
import { UpstreamConn, type EndpointState } from "../../../src/balancer/upstream-pool.ts";

const LIMITS = {
  maxHeaderBytes: 16 * 1024, headerTimeoutMs: 1_000, clientIdleTimeoutMs: 5_000, connectTimeoutMs: 300,
  requestTimeoutMs: 2_000, maxRetries: 0, holdWhenEmptyMs: 0,
};

/** One connection over fake sockets: the test plays client and upstream by calling the event methods. */
function harness(opts: { endpoints?: number; connected?: boolean; holdWhenEmptyMs?: number; clientTakes?: () => number } = {}) {
  const clock = { now: 0, tick: () => clock.now };
  const eps: ProxyEndpoint[] = Array.from({ length: opts.endpoints ?? 1 }, (_, i) => ({ id: `e${i}`, address: "127.0.0.1", port: 1000 + i }));
  const done: { id: string; outcome: ProxyOutcome }[] = [];
  const ups: UpstreamConn[] = [];
  const released: UpstreamConn[] = [];
  const client = { written: "", ended: false, terminated: false };
  const sock: ClientSocket = {
    write(d: string | Buffer) {
      const b = typeof d === "string" ? Buffer.from(d) : d;
      const n = Math.min(b.length, opts.clientTakes ? opts.clientTakes() : b.length);
      client.written += b.subarray(0, n).toString("latin1");
      return n;
    },
    end() { client.ended = true; },
    terminate() { client.terminated = true; },
    pause() {},
    resume() {},
  } as unknown as ClientSocket;
  const stats = new ProxyStats();
  const states = new Map<string, EndpointState>();
  const sh: Shared = {
    opts: { ...LIMITS, holdWhenEmptyMs: opts.holdWhenEmptyMs ?? 0 },
    pool: {
      pick: () => eps[0],
      onDone: (ep, _l, outcome) => { done.push({ id: ep.id, outcome }); },
      isEmpty: () => eps.length === 0,
    },
    upstreams: {
      acquire(ep, owner) {
        let st = states.get(ep.id);
        if (!st) states.set(ep.id, (st = { endpoint: ep, address: ep.address, port: ep.port, idle: [], stats: new ProxyStats() }));
        const up = new UpstreamConn(st);
        up.owner = owner;
        up.sock = { write: (d: Buffer) => d.length, end() { up.closed = true; }, terminate() { up.closed = true; }, pause() {}, resume() {} } as never;
        up.connected = opts.connected ?? true;
        ups.push(up);
        return up;
      },
      release(up) {
        up.owner = undefined;
        released.push(up);
      },
    },
    stats,
    budget: new RetryBudget({ now: () => clock.now }),
    clock,
    conns: new Set(),
    held: new Set(),
    proto: "http",
    via: "polis",
    closing: false,
    shed: 0,
  };
  const conn = new ClientConn(sock, sh, "127.0.0.1");
  sh.conns.add(conn);
  /** The upstream socket closes as the pool reports it (owner cleared first). */
  const upstreamCloses = (up: UpstreamConn) => {
    up.closed = true;
    const o = up.owner;
    up.owner = undefined;
    o?.onUpstreamClose(up);
  };
  /** Run the sweep far into the future: any armed deadline fires, and must not throw. */
  const sweepLater = (ms = 60_000) => {
    clock.now += ms;
    if (conn.due(clock.now)) conn.onDeadline(clock.now);
  };
  return { conn, sh, clock, client, done, ups, released, stats, eps, upstreamCloses, sweepLater, eps0: eps };
}

const GET = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
const POST_CLOSE = "POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx";
const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/** At rest after an exchange: nothing held, no deadline but the idle one of a kept connection. */
function expectAtRest(h: ReturnType<typeof harness>, kept: boolean) {
  expect(h.conn.up).toBeUndefined();
  expect(h.conn.ep).toBeUndefined();
  expect(h.conn.bodyDeadline).toBe(0);
  expect(h.sh.held.size).toBe(0);
  if (kept) {
    expect(h.conn.state).toBe(ST_HEAD);
    expect(h.conn.dlKind).toBe(DL_IDLE);
  } else {
    expect(h.conn.state).toBe(ST_CLOSED);
    expect(h.conn.dlKind).toBe(DL_NONE);
  }
  expect(() => h.sweepLater()).not.toThrow();
}

describe("http exchange end paths", () => {
  test("a complete response releases the upstream, reports its status once and waits for the next request", () => {
    const h = harness();
    h.conn.onData(Buffer.from(GET));
    h.conn.onUpstreamData(h.ups[0]!, Buffer.from(OK));
    expect(h.client.written.endsWith("ok")).toBe(true);
    expect(h.done).toEqual([{ id: "e0", outcome: 200 }]);
    expect(h.released).toEqual([h.ups[0]!]);
    expectAtRest(h, true);
  });

  test("an upstream reset on a non-retryable request with Connection: close answers 502 and leaves no deadline armed", () => {
    const h = harness();
    h.conn.onData(Buffer.from(POST_CLOSE));
    h.upstreamCloses(h.ups[0]!);
    expect(h.client.written.startsWith("HTTP/1.1 502")).toBe(true);
    expect(h.client.ended).toBe(true);
    expect(h.done).toEqual([{ id: "e0", outcome: "reset" }]);
    expectAtRest(h, false);
  });

  test("a truncated response head answers 502, not a reset", () => {
    const h = harness();
    h.conn.onData(Buffer.from(GET));
    h.conn.onUpstreamData(h.ups[0]!, Buffer.from("HTTP/1.1 200 OK\r\nContent-Le"));
    h.upstreamCloses(h.ups[0]!);
    expect(h.client.written.startsWith("HTTP/1.1 502")).toBe(true);
    expect(h.client.terminated).toBe(false);
    expect(h.done).toEqual([{ id: "e0", outcome: "reset" }]);
    expectAtRest(h, true);
  });

  test("an upstream reset after the response started cuts the client and reports the reset once", () => {
    const h = harness();
    h.conn.onData(Buffer.from(GET));
    h.conn.onUpstreamData(h.ups[0]!, Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"));
    h.upstreamCloses(h.ups[0]!);
    expect(h.client.terminated).toBe(true);
    expect(h.done).toEqual([{ id: "e0", outcome: "reset" }]);
    expectAtRest(h, false);
  });

  test("a connect timeout answers 502 and aborts the connecting socket", () => {
    const h = harness({ connected: false });
    h.conn.onData(Buffer.from(GET));
    h.clock.now += LIMITS.connectTimeoutMs;
    expect(h.conn.due(h.clock.now)).toBe(true);
    h.conn.onDeadline(h.clock.now);
    expect(h.client.written.startsWith("HTTP/1.1 502")).toBe(true);
    expect(h.ups[0]!.closed).toBe(true);
    expect(h.done).toEqual([{ id: "e0", outcome: "connect" }]);
    expectAtRest(h, true);
  });

  test("a silent upstream answers 504 after the server timeout and is reported as a timeout", () => {
    const h = harness();
    h.conn.onData(Buffer.from(GET));
    h.clock.now += LIMITS.requestTimeoutMs;
    h.conn.onDeadline(h.clock.now);
    expect(h.client.written.startsWith("HTTP/1.1 504")).toBe(true);
    expect(h.done).toEqual([{ id: "e0", outcome: "timeout" }]);
    expectAtRest(h, true);
  });

  test("a client that stops reading is cut after the client timeout, and the upstream is NOT blamed", () => {
    const h = harness({ clientTakes: () => 10 });
    h.conn.onData(Buffer.from(GET));
    h.conn.onUpstreamData(h.ups[0]!, Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n${"x".repeat(1000)}`));
    h.clock.now += LIMITS.requestTimeoutMs; // past the server timeout: the wait is on the client, not the upstream
    expect(h.conn.due(h.clock.now)).toBe(false);
    h.clock.now += LIMITS.clientIdleTimeoutMs;
    h.conn.onDeadline(h.clock.now);
    expect(h.client.terminated).toBe(true);
    expect(h.done).toEqual([{ id: "e0", outcome: "client" }]);
    expect(h.sh.stats.responses[5]).toBe(0);
    expectAtRest(h, false);
  });

  test("a request body that does not arrive within the request timeout gets 408, even when every byte is fresh", () => {
    const h = harness();
    h.conn.onData(Buffer.from("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"));
    for (let i = 0; i < 50 && !h.conn.due(h.clock.now); i++) {
      h.clock.now += 100;
      h.conn.onData(Buffer.from("b"));
    }
    expect(h.conn.due(h.clock.now)).toBe(true);
    h.conn.onDeadline(h.clock.now);
    expect(h.client.written.startsWith("HTTP/1.1 408")).toBe(true);
    expect(h.done).toEqual([{ id: "e0", outcome: "client" }]);
    expectAtRest(h, false);
  });

  test("a request held for an endpoint that never comes gets 503 and leaves the held set", () => {
    const h = harness({ holdWhenEmptyMs: 500 });
    h.eps.length = 0;
    h.sh.pool.pick = () => undefined;
    h.conn.onData(Buffer.from(GET));
    expect(h.sh.held.size).toBe(1);
    h.clock.now += 500;
    h.conn.onDeadline(h.clock.now);
    expect(h.client.written.startsWith("HTTP/1.1 503")).toBe(true);
    expect(h.done).toEqual([]);
    expectAtRest(h, true);
  });

  test("a client that closes mid-exchange aborts the upstream and is reported as the client's doing", () => {
    const h = harness();
    h.conn.onData(Buffer.from(GET));
    h.conn.onClose();
    expect(h.ups[0]!.closed).toBe(true);
    expect(h.done).toEqual([{ id: "e0", outcome: "client" }]);
    expectAtRest(h, false);
  });

  test("a 502 the proxy answers itself counts as a 5xx of the endpoint it came from", () => {
    const h = harness();
    h.conn.onData(Buffer.from(GET));
    h.conn.onUpstreamData(h.ups[0]!, Buffer.from("NOT HTTP\r\n\r\n"));
    expect(h.client.written.startsWith("HTTP/1.1 502")).toBe(true);
    expect(h.ups[0]!.ep.stats.responses[5]).toBe(1);
    expect(h.stats.responses[5]).toBe(1);
    expect(h.done).toEqual([{ id: "e0", outcome: "protocol" }]);
    expectAtRest(h, true);
  });
});

describe("http exchange: connections shed for balance between workers", () => {
  test("with a shed budget the next response says Connection: close, the client is ended and the upstream kept", () => {
    const h = harness();
    h.sh.shed = 1;
    h.conn.onData(Buffer.from(GET));
    h.conn.onUpstreamData(h.ups[0]!, Buffer.from(OK));
    expect(h.client.written).toContain("Connection: close\r\n");
    expect(h.client.written.endsWith("ok")).toBe(true);
    expect(h.client.ended).toBe(true);
    expect(h.sh.shed).toBe(0);
    expect(h.released).toEqual([h.ups[0]!]);
    expect(h.done).toEqual([{ id: "e0", outcome: 200 }]);
    expectAtRest(h, false);
  });

  test("a connection with a pipelined request behind the current one is not shed (that request would be lost)", () => {
    const h = harness();
    h.sh.shed = 1;
    h.conn.onData(Buffer.from(GET + GET));
    h.conn.onUpstreamData(h.ups[0]!, Buffer.from(OK));
    expect(h.client.written).not.toContain("Connection: close");
    expect(h.client.ended).toBe(false);
    // The second request went out; the budget is still there for it, and it has nothing behind it.
    h.conn.onUpstreamData(h.ups[1]!, Buffer.from(OK));
    expect(h.client.written.split("Connection: close").length - 1).toBe(1);
    expect(h.client.ended).toBe(true);
    expect(h.sh.shed).toBe(0);
  });

  test("without a budget responses keep the connection", () => {
    const h = harness();
    for (let i = 0; i < 3; i++) {
      h.conn.onData(Buffer.from(GET));
      h.conn.onUpstreamData(h.ups[i]!, Buffer.from(OK));
    }
    expect(h.client.written).not.toContain("Connection: close");
    expectAtRest(h, true);
  });
});
