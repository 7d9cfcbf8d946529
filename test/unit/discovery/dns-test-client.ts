// Small DNS client for the discovery tests: builds queries with dns-packet and sends them over UDP or TCP with deadlines.
import * as dnsPacket from "dns-packet";
import type { DecodedPacket, RecordType } from "dns-packet";

export function query(name: string, type: RecordType | "ANY", opts: { id?: number; edns?: number; rd?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: "query",
    id: opts.id ?? 4242,
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as RecordType, class: "IN" }],
    additionals:
      opts.edns === undefined
        ? []
        : [{ name: ".", type: "OPT", udpPayloadSize: opts.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  });
}

/** dns-packet decodes the rcode too; its type declarations omit it. */
export type Decoded = DecodedPacket & { rcode: string };
export const decode = (b: Uint8Array): Decoded => dnsPacket.decode(Buffer.from(b)) as Decoded;

/** One UDP round trip; rejects after `timeoutMs` (a dropped query shows up as a rejection). */
export async function udpAsk(port: number, packet: Uint8Array, timeoutMs = 2000): Promise<Buffer> {
  const { promise, resolve, reject } = Promise.withResolvers<Buffer>();
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: { data: (_s, data) => resolve(Buffer.from(data)) },
  });
  const timer = setTimeout(() => reject(new Error("no UDP answer")), timeoutMs);
  try {
    sock.send(packet, port, "127.0.0.1");
    return await promise;
  } finally {
    clearTimeout(timer);
    sock.close();
  }
}

export interface TcpSession {
  /** Sends raw bytes (already framed or not: the caller decides). */
  write(bytes: Uint8Array): void;
  /** Frames and sends one query. */
  send(packet: Uint8Array): void;
  /** Next framed message received, or rejects after the deadline. */
  next(timeoutMs?: number): Promise<Buffer>;
  readonly closed: Promise<void>;
  close(): void;
}

export async function tcpSession(port: number): Promise<TcpSession> {
  let input = Buffer.alloc(0);
  const messages: Buffer[] = [];
  let wake: (() => void) | undefined;
  const closed = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        input = Buffer.concat([input, chunk]);
        while (input.length >= 2 && input.length >= 2 + input.readUInt16BE(0)) {
          const len = input.readUInt16BE(0);
          messages.push(Buffer.from(input.subarray(2, 2 + len)));
          input = input.subarray(2 + len);
        }
        wake?.();
      },
      close() {
        closed.resolve();
        wake?.();
      },
    },
  });
  return {
    write: (bytes) => void socket.write(bytes),
    send(packet) {
      const framed = Buffer.alloc(packet.length + 2);
      framed.writeUInt16BE(packet.length, 0);
      framed.set(packet, 2);
      socket.write(framed);
    },
    async next(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length === 0) {
        if (Date.now() > deadline) throw new Error("no TCP answer");
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return messages.shift()!;
    },
    closed: closed.promise,
    close: () => socket.end(),
  };
}
