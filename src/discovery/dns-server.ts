// The DNS interface of service discovery: answers `<name>[.<namespace>].<domain>` over UDP and TCP from a catalog view.
//
// Lifecycle: createDnsServer() binds UDP then TCP and resolves once both listen (or rejects, with
// nothing left bound) -> stop() closes both; stop is idempotent. With both ports 0 on one host
// name, TCP is bound to the UDP's port (a truncated UDP answer makes clients retry over TCP on
// the same port), falling back to any port if that one is taken.
import type { CatalogView } from "./catalog-view.ts";
import { type DnsAnswerObserver, observeResponder } from "./dns-observe.ts";
import { createDnsResponder } from "./dns-responder.ts";
import { listenDnsTcp, type DnsTcpListener } from "./dns-tcp.ts";
import { listenDnsUdp, type DnsUdpListener } from "./dns-udp.ts";

export interface DnsServerOptions {
  udp: { hostname: string; port: number };
  tcp: { hostname: string; port: number };
  /** Served zone, e.g. "polis": names are `NAME.NAMESPACE.polis.` and `NAME.polis.` (namespace "default"). */
  domain: string;
  /** TTL of answers, seconds. */
  ttl: number;
  /** TTL of NXDOMAIN / NODATA answers (SOA minimum); defaults to ttl. */
  negativeTtl?: number;
  view: CatalogView;
  /** Answer only passing endpoints; default false (passing and warning, as Consul). */
  onlyPassing?: boolean;
  /** Largest UDP answer for EDNS0 clients (and the size we advertise); default 1232. */
  maxUdpSize?: number;
  /** Default 10 s. */
  tcpIdleTimeoutSeconds?: number;
  /** Default 256. */
  maxTcpConnections?: number;
  /** Default 16 (dns-tcp.ts). */
  maxTcpConnectionsPerClient?: number;
  /** Default 2 s (dns-tcp.ts). */
  tcpFirstQueryTimeoutSeconds?: number;
  /** Told about every answer (question type, rcode, transport), for metrics. */
  onAnswer?: DnsAnswerObserver;
}

export interface DnsServer {
  readonly udpPort: number;
  readonly tcpPort: number;
  /** Entries in the encoded-answer cache (for metrics). */
  readonly cacheSize: number;
  /** Answer with a new TTL from now on (a config reload); the negative TTL follows unless it was set apart. */
  setTtl(seconds: number): void;
  stop(): void;
}

const SAME_PORT_ATTEMPTS = 5;

export async function createDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const plain = createDnsResponder(options);
  const responder = options.onAnswer ? observeResponder(plain, options.onAnswer) : plain;
  const tcpOptions = (port: number) => ({
    hostname: options.tcp.hostname,
    port,
    idleTimeoutSeconds: options.tcpIdleTimeoutSeconds ?? 10,
    maxConnections: options.maxTcpConnections ?? 256,
    ...(options.maxTcpConnectionsPerClient !== undefined ? { maxConnectionsPerClient: options.maxTcpConnectionsPerClient } : {}),
    ...(options.tcpFirstQueryTimeoutSeconds !== undefined ? { firstQueryTimeoutSeconds: options.tcpFirstQueryTimeoutSeconds } : {}),
  });
  const pairPorts = options.udp.port === 0 && options.tcp.port === 0 && options.udp.hostname === options.tcp.hostname;

  let udp: DnsUdpListener | undefined;
  let tcp: DnsTcpListener | undefined;
  for (let attempt = 0; attempt < SAME_PORT_ATTEMPTS && tcp === undefined; attempt++) {
    udp = await listenDnsUdp(options.udp.hostname, options.udp.port, responder);
    if (!pairPorts) break;
    try {
      tcp = listenDnsTcp(tcpOptions(udp.port), responder);
    } catch {
      udp.close(); // the TCP side of this port is taken: try another UDP port
      udp = undefined;
    }
  }
  udp ??= await listenDnsUdp(options.udp.hostname, options.udp.port, responder);
  try {
    tcp ??= listenDnsTcp(tcpOptions(options.tcp.port), responder);
  } catch (e) {
    udp.close();
    throw e;
  }

  const u = udp;
  const t = tcp;
  let stopped = false;
  return {
    udpPort: u.port,
    tcpPort: t.port,
    get cacheSize() {
      return responder.cacheSize;
    },
    setTtl: (seconds) => responder.setTtl(seconds, options.negativeTtl ?? seconds),
    stop: function stopDnsServer() {
      if (stopped) return;
      stopped = true;
      u.close();
      t.close();
    },
  };
}
