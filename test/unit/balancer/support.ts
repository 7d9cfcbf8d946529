// Test support for the data plane: a round-robin pool, raw socket clients and tiny upstream servers.

import type { Socket } from "bun";
import type { L4Pool, ProxyEndpoint, ProxyOutcome, ProxyPool } from "../../../src/balancer/proxy-pool.ts";
import { waitFor } from "../../support/wait-for.ts";
import type { Picker, PoolEndpoint } from "../../../src/core/balancing/picker.ts";

/** Assignable to both ProxyPool and L4Pool. */
export interface RecordingPool extends Omit<ProxyPool, "pick">, Omit<L4Pool, "pick"> {
  pick(ctx: { readonly previous: ProxyEndpoint | undefined }): ProxyEndpoint | undefined;
  readonly picks: string[];
  readonly done: { id: string; outcome: ProxyOutcome }[];
  cookie: string | undefined;
  endpoints: ProxyEndpoint[];
}

/** Round robin over a fixed list, skipping the endpoint a retry just failed on. */
export function roundRobinPool(ports: number[]): RecordingPool {
  let next = 0;
  const pool: RecordingPool = {
    picks: [],
    done: [],
    cookie: undefined,
    endpoints: ports.map((port) => ({ id: `127.0.0.1:${port}`, address: "127.0.0.1", port })),
    pick(ctx) {
      if (pool.endpoints.length === 0) return undefined;
      let ep = pool.endpoints[next++ % pool.endpoints.length];
      if (ctx.previous && ep.id === ctx.previous.id && pool.endpoints.length > 1) {
        ep = pool.endpoints[next++ % pool.endpoints.length];
      }
      pool.picks.push(ep.id);
      return ep;
    },
    onDone(ep, _latency, outcome) {
      pool.done.push({ id: ep.id, outcome });
    },
    stickyCookie() {
      return pool.cookie;
    },
  };
  return pool;
}

/** A raw TCP client that collects everything it receives. */
export interface RawClient {
  sock: Socket<undefined>;
  received(): string;
  bytes(): number;
  closed: boolean;
  send(data: string | Uint8Array): void;
  /** Wait until the received text satisfies `pred`. */
  until(pred: (text: string) => boolean, what?: string): Promise<string>;
  untilClosed(): Promise<void>;
  close(): void;
}

export async function rawClient(port: number, opts: { tls?: boolean } = {}): Promise<RawClient> {
  const chunks: Buffer[] = [];
  let total = 0;
  const c: RawClient = {
    sock: undefined as unknown as Socket<undefined>,
    received: () => Buffer.concat(chunks).toString("latin1"),
    bytes: () => total,
    closed: false,
    send(data) {
      c.sock.write(data);
    },
    until(pred, what) {
      return waitFor(() => {
        const t = c.received();
        return pred(t) ? t : false;
      }, { what: what ?? "client data", timeoutMs: 8000, intervalMs: 5 });
    },
    async untilClosed() {
      await waitFor(() => c.closed, { what: "client close", timeoutMs: 8000, intervalMs: 5 });
    },
    close() {
      c.sock.end();
    },
  };
  let opened!: () => void;
  const isOpen = new Promise<void>((r) => { opened = r; });
  c.sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    ...(opts.tls ? { tls: { rejectUnauthorized: false } } : {}),
    socket: {
      // For TLS, open fires after the handshake; bytes written before it can be lost.
      open() {
        opened();
      },
      data(_s, d) {
        chunks.push(Buffer.from(d));
        total += d.length;
      },
      close() {
        c.closed = true;
      },
      error() {},
    },
  });
  await Promise.race([isOpen, Bun.sleep(5000)]);
  return c;
}

/** Count complete HTTP responses in a byte stream by their status lines. */
export function countResponses(text: string): number {
  return text.split("HTTP/1.1 ").length - 1;
}

/** An upstream Bun.serve that echoes what it saw as JSON, and records every request. */
export interface EchoUpstream {
  port: number;
  seen: { method: string; url: string; headers: Record<string, string>; bodyBytes: number }[];
  stop(): void;
}

export function echoUpstream(name: string): EchoUpstream {
  const seen: EchoUpstream["seen"] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => { headers[k] = v; });
      const url = new URL(req.url);
      let bodyBytes = 0;
      if (req.body) for await (const part of req.body) bodyBytes += part.length;
      seen.push({ method: req.method, url: url.pathname + url.search, headers, bodyBytes });
      return Response.json({ name, method: req.method, path: url.pathname, headers, bodyBytes });
    },
  });
  return { port: server.port!, seen, stop: () => server.stop(true) };
}

/** A raw TCP upstream whose behaviour per connection is scripted by the test. */
export interface RawUpstream {
  port: number;
  /** Every byte any connection received, in order. */
  received(): string;
  connections: number;
  stop(): void;
}

export function rawUpstream(onData: (s: Socket<undefined>, text: string) => void): RawUpstream {
  const parts: string[] = [];
  const u = {
    port: 0,
    connections: 0,
    received: () => parts.join(""),
    stop: () => listener.stop(true),
  };
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() { u.connections++; },
      data(s, d) {
        const t = Buffer.from(d).toString("latin1");
        parts.push(t);
        onData(s, t);
      },
      error() {},
    },
  });
  u.port = listener.port;
  return u;
}

/** The trivial Picker the data-plane tests plug in (real policies come through createPicker later). */
export function roundRobinPicker(): Picker & { starts: number[]; dones: [number, boolean][] } {
  let n = 0, next = 0;
  const p = {
    name: "test-round-robin",
    starts: [] as number[],
    dones: [] as [number, boolean][],
    update(eps: readonly PoolEndpoint[]) {
      n = eps.length;
    },
    pick() {
      return n === 0 ? -1 : next++ % n;
    },
    onStart(i: number) {
      p.starts.push(i);
    },
    onDone(i: number, _latency: number, ok: boolean) {
      p.dones.push([i, ok]);
    },
  };
  return p;
}
