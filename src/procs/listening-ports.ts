// Which local TCP ports are taken on this host (from /proc/net/tcp and tcp6), so replicas are not handed them.
import { readFileSync } from "node:fs";

const LISTEN = "0A";
/**
 * Connections that pin their local port: an outgoing connection's ephemeral port cannot be bound by a
 * listener (EADDRINUSE), and a port range that overlaps the ephemeral range meets them all the time.
 * Closing states (FIN_WAIT, TIME_WAIT, ...) are left out: a dead replica's own connections linger
 * there, and its replacement must get the same port back.
 */
const CONNECTED = new Set(["01", "02"]); // ESTABLISHED, SYN_SENT

function localPorts(states: ReadonlySet<string>): Set<number> {
  const ports = new Set<number>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (!cols[3] || !states.has(cols[3]) || !cols[1]) continue;
      const hexPort = cols[1].slice(cols[1].lastIndexOf(":") + 1);
      ports.add(parseInt(hexPort, 16));
    }
  }
  return ports;
}

export function listeningPorts(): Set<number> {
  return localPorts(new Set([LISTEN]));
}

/** Ports a new listener cannot bind: listening ones and the local ports of open connections. */
export function busyPorts(): Set<number> {
  return localPorts(new Set([LISTEN, ...CONNECTED]));
}

/** First port in [from, to] neither busy on the host nor already handed to one of ours. */
export function pickFreePort(from: number, to: number, taken: ReadonlySet<number>, busy = busyPorts()): number | null {
  for (let p = from; p <= to; p++) {
    if (!taken.has(p) && !busy.has(p)) return p;
  }
  return null;
}
