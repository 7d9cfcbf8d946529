// Which TCP ports are already listening on this host (from /proc/net/tcp and tcp6), to skip them.
import { readFileSync } from "node:fs";

const LISTEN = "0A";

export function listeningPorts(): Set<number> {
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
      if (cols[3] !== LISTEN || !cols[1]) continue;
      const hexPort = cols[1].slice(cols[1].lastIndexOf(":") + 1);
      ports.add(parseInt(hexPort, 16));
    }
  }
  return ports;
}

/** First port in [from, to] neither listening on the host nor already handed to one of ours. */
export function pickFreePort(from: number, to: number, taken: ReadonlySet<number>, listening = listeningPorts()): number | null {
  for (let p = from; p <= to; p++) {
    if (!taken.has(p) && !listening.has(p)) return p;
  }
  return null;
}
