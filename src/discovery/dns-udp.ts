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
        if (out === undefined) return;
        // send() copies synchronously; a full socket buffer drops the answer (UDP clients retry).
        // It throws ECONNREFUSED when an earlier answer bounced off a closed client port (ICMP):
        // that is the previous client's problem, never a reason to fail this one or the listener.
        try {
          sock.send(out, fromPort, fromAddress);
        } catch {
          try {
            sock.send(out, fromPort, fromAddress); // the error was consumed: this one is for our client
          } catch {
            // dropped, as above
          }
        }
      },
      error: function onDnsUdpError() {
        // Same ICMP port-unreachable reports, surfaced on receive: nothing to do for a server.
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
