// DNS over TCP (RFC 7766): 2-byte length framing, several queries per connection, idle timeout, bounded buffers.
import type { Socket, TCPSocketListener } from "bun";
import type { DnsResponder } from "./dns-responder.ts";

export interface DnsTcpOptions {
  hostname: string;
  port: number;
  /** Close a connection with no traffic for this long (RFC 7766 suggests seconds, not minutes). */
  idleTimeoutSeconds: number;
  /** Connections beyond this are closed at once. */
  maxConnections: number;
}

export interface DnsTcpListener {
  readonly port: number;
  close(): void;
}

interface Conn {
  input: Buffer | undefined;
  pending: Buffer | undefined;
}

// A client that stops reading while it keeps asking is cut off instead of buffered forever.
const MAX_PENDING_BYTES = 64 * 1024;

export function listenDnsTcp(options: DnsTcpOptions, responder: DnsResponder): DnsTcpListener {
  let open = 0;

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
        socket.data = { input: undefined, pending: undefined };
        if (++open > options.maxConnections) return void socket.end();
        socket.timeout(options.idleTimeoutSeconds);
      },
      data: function onDnsTcpData(socket, chunk) {
        const conn = socket.data;
        const buf = conn.input === undefined ? chunk : Buffer.concat([conn.input, chunk]);
        let off = 0;
        while (buf.length - off >= 2) {
          const len = buf.readUInt16BE(off);
          if (buf.length - off - 2 < len) break;
          const response = responder.respond(buf.subarray(off + 2, off + 2 + len), false);
          off += 2 + len;
          if (response !== undefined) send(socket, response);
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
      close: function onDnsTcpClose() {
        open--;
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
