// DNS over TCP (RFC 7766): 2-byte length framing, several queries per connection, idle timeouts, bounded buffers,
// and connection limits per client as resolvers have them (dnsdist's max-tcp-connections-per-client, Unbound's
// short tcp-idle-timeout under load): one client holding idle connections cannot take every slot.
//
// A connection gets `firstQueryTimeoutSeconds` to send its first query, then `idleTimeoutSeconds` between queries;
// once more than half the slots are taken, every connection is held to the short timeout. A client at its own cap
// that opens one more connection is served on it: its oldest idle connection (nothing half-read or unsent) is
// closed instead, so a client that leaked idle connections can still ask, and still cannot take more slots.
import type { Socket, TCPSocketListener } from "bun";
import type { DnsResponder } from "./dns-responder.ts";

export interface DnsTcpOptions {
  hostname: string;
  port: number;
  /** Close a connection with no traffic for this long (RFC 7766 suggests seconds, not minutes). */
  idleTimeoutSeconds: number;
  /** Connections beyond this are closed at once. */
  maxConnections: number;
  /** Connections of one client address beyond this: its oldest idle one is closed, or else the new one; default 16. */
  maxConnectionsPerClient?: number;
  /** How long a new (or, under load, any) connection may stay silent; default 2 s. */
  firstQueryTimeoutSeconds?: number;
}

export const DEFAULT_MAX_TCP_PER_CLIENT = 16;
export const DEFAULT_FIRST_QUERY_TIMEOUT_SECONDS = 2;

export interface DnsTcpListener {
  readonly port: number;
  close(): void;
}

interface Conn {
  input: Buffer | undefined;
  pending: Buffer | undefined;
  /** The client address counted in perClient; undefined for a connection refused at open. */
  client: string | undefined;
  asked: boolean;
}

// A client that stops reading while it keeps asking is cut off instead of buffered forever.
const MAX_PENDING_BYTES = 64 * 1024;

export function listenDnsTcp(options: DnsTcpOptions, responder: DnsResponder): DnsTcpListener {
  const perClient = new Map<string, number>();
  const maxPerClient = options.maxConnectionsPerClient ?? DEFAULT_MAX_TCP_PER_CLIENT;
  const shortTimeout = Math.min(options.firstQueryTimeoutSeconds ?? DEFAULT_FIRST_QUERY_TIMEOUT_SECONDS, options.idleTimeoutSeconds);
  const busy = () => live.size > options.maxConnections / 2;
  const live = new Set<Socket<Conn>>();

  /** Stops counting a connection (at close, or at once when it is evicted and its close comes later). */
  function release(socket: Socket<Conn>): void {
    const client = socket.data?.client;
    if (client === undefined) return;
    live.delete(socket);
    const n = (perClient.get(client) ?? 1) - 1;
    if (n <= 0) perClient.delete(client);
    else perClient.set(client, n);
    socket.data.client = undefined;
  }

  /** Closes this client's oldest connection with nothing in flight; false when every one of them is busy. */
  function evictIdle(client: string): boolean {
    for (const s of live) {
      if (s.data.client !== client || s.data.input !== undefined || s.data.pending !== undefined) continue;
      release(s);
      s.end();
      return true;
    }
    return false;
  }

  function send(socket: Socket<Conn>, response: Uint8Array): void {
    const framed = Buffer.allocUnsafe(response.length + 2);
    framed.writeUInt16BE(response.length, 0);
    framed.set(response, 2);
    const conn = socket.data;
    if (conn.pending !== undefined) {
      if (conn.pending.length + framed.length > MAX_PENDING_BYTES) return void socket.end();
      conn.pending = Buffer.concat([conn.pending, framed]);
      return;
    }
    const written = socket.write(framed);
    if (written < framed.length) conn.pending = framed.subarray(Math.max(0, written));
  }

  const listener: TCPSocketListener<Conn> = Bun.listen<Conn>({
    hostname: options.hostname,
    port: options.port,
    socket: {
      open: function onDnsTcpOpen(socket) {
        socket.data = { input: undefined, pending: undefined, client: undefined, asked: false };
        const client = socket.remoteAddress;
        if ((perClient.get(client) ?? 0) >= maxPerClient) evictIdle(client);
        const mine = (perClient.get(client) ?? 0) + 1;
        if (live.size >= options.maxConnections || mine > maxPerClient) return void socket.end();
        perClient.set(client, mine);
        socket.data.client = client;
        live.add(socket);
        socket.timeout(shortTimeout);
        // Crossing into "busy": every connection is held to the short timeout from now on (once per crossing).
        if (live.size === Math.floor(options.maxConnections / 2) + 1) for (const s of live) s.timeout(shortTimeout);
      },
      data: function onDnsTcpData(socket, chunk) {
        const conn = socket.data;
        if (conn.client === undefined) return;
        const buf = conn.input === undefined ? chunk : Buffer.concat([conn.input, chunk]);
        let off = 0;
        while (buf.length - off >= 2) {
          const len = buf.readUInt16BE(off);
          if (buf.length - off - 2 < len) break;
          const response = responder.respond(buf.subarray(off + 2, off + 2 + len), false);
          off += 2 + len;
          if (response !== undefined) send(socket, response);
          if (!conn.asked) {
            conn.asked = true;
            if (!busy()) socket.timeout(options.idleTimeoutSeconds);
          }
        }
        // What stays is less than one frame (at most 65,537 bytes): keep a copy, the chunk is reused.
        conn.input = off === buf.length ? undefined : Buffer.from(buf.subarray(off));
      },
      drain: function onDnsTcpDrain(socket) {
        const conn = socket.data;
        if (conn.pending === undefined) return;
        const written = socket.write(conn.pending);
        conn.pending = written >= conn.pending.length ? undefined : conn.pending.subarray(Math.max(0, written));
      },
      timeout: function onDnsTcpIdle(socket) {
        socket.end();
      },
      close: function onDnsTcpClose(socket) {
        release(socket);
      },
      error: function onDnsTcpError(socket) {
        socket.end();
      },
    },
  });
  return {
    port: listener.port,
    close: function closeDnsTcp() {
      listener.stop(true);
    },
  };
}
