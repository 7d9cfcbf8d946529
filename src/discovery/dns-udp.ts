// DNS over UDP: one datagram in, at most one datagram out, answered synchronously from the responder.
import type { DnsResponder } from "./dns-responder.ts";

export interface DnsUdpListener {
  readonly port: number;
  close(): void;
}

export async function listenDnsUdp(hostname: string, port: number, responder: DnsResponder): Promise<DnsUdpListener> {
  const socket = await Bun.udpSocket({
    hostname,
    port,
    socket: {
      data: function onDnsDatagram(sock, data, fromPort, fromAddress, flags) {
        // A datagram the kernel cut short is not the query that was sent: better silent than wrong.
        if (flags?.truncated) return;
        const out = responder.respond(data, true);
        // send() copies synchronously; when it reports a full socket buffer the answer is dropped,
        // which UDP clients already handle by retrying.
        if (out !== undefined) sock.send(out, fromPort, fromAddress);
      },
    },
  });
  return {
    port: socket.port,
    close: function closeDnsUdp() {
      if (!socket.closed) socket.close();
    },
  };
}
