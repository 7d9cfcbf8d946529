// A Bun TCP/TLS socket as a Node Duplex, so node:http2 (and node:http) servers can run on connections the
// balancer's own listener accepted. Writes the socket cannot take at once wait for its drain, and the Duplex's
// write callback waits with them: that is the backpressure toward the HTTP/2 session.
import type { Socket } from "bun";
import { Duplex } from "node:stream";

/** What the listener's socket handler calls once a connection is handed over (same shape as ClientConn's). */
export interface AdoptedConn {
  onData(chunk: Buffer): void;
  onDrain(): void;
  onClose(): void;
}

export class SocketDuplex extends Duplex implements AdoptedConn {
  private pending: Buffer | undefined;
  private pendingCb: ((err?: Error | null) => void) | undefined;
  private gone = false;

  constructor(private readonly sock: Socket<unknown>, readonly remoteAddress: string) {
    super({ allowHalfOpen: false });
  }

  // Fields node:http and node:http2 read from a net.Socket.
  get remotePort(): number {
    return (this.sock as unknown as { remotePort?: number }).remotePort ?? 0;
  }
  get encrypted(): boolean {
    return false;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }

  override _read(): void {
    // Data is pushed as the socket delivers it; the HTTP/2 session's flow control bounds how much a peer sends.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.gone) return cb(new Error("socket closed"));
    const n = this.sock.write(chunk);
    if (n >= chunk.length) return cb();
    this.pending = chunk.subarray(Math.max(0, n));
    this.pendingCb = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.gone) this.sock.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.gone) {
      this.gone = true;
      this.sock.end();
    }
    const p = this.pendingCb;
    this.pendingCb = undefined;
    p?.(err ?? new Error("socket closed"));
    cb(err);
  }

  onData(chunk: Buffer): void {
    this.push(chunk);
  }

  onDrain(): void {
    const rest = this.pending;
    if (rest === undefined) return;
    const n = this.sock.write(rest);
    if (n < rest.length) {
      this.pending = rest.subarray(Math.max(0, n));
      return;
    }
    this.pending = undefined;
    const cb = this.pendingCb;
    this.pendingCb = undefined;
    cb?.();
  }

  onClose(): void {
    if (this.gone) return;
    this.gone = true;
    this.push(null);
    this.destroy();
  }
}
