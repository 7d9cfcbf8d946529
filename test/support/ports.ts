// Loopback ports for listeners that must be given a number (a balancer's listen address, which every balancer worker
// binds with SO_REUSEPORT; etcd's flags; a DNS port for TCP and UDP alike).
//
// The port-0 trick (bind, read the port, close, hand it on) picks from the kernel's ephemeral range, the same range
// every other port-0 listener and every outgoing connection on the host draws from: on a machine running several
// suites at once one of them takes the port now and then before the agent binds it, and the test fails. Ports
// above that range are never handed out by the kernel, so only another explicit pick could take one.
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";

/** Where to pick from: above the ephemeral range (Linux default 32768-60999), or below it when no room is left. */
export function pickBand(range: string | undefined): [number, number] {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(range ?? "");
  const [lo, hi] = m ? [Number(m[1]), Number(m[2])] : [32_768, 60_999];
  if (65_535 - hi >= 1_000) return [hi + 1, 65_535];
  // Replica port ranges in the tests sit in 10000-32000; keep clear of them and of the well-known ports.
  if (lo - 1_024 >= 1_000) return [Math.max(1_024, lo - 2_000), lo - 1];
  // The kernel hands out (nearly) every port: no band is safe, so picks race as port 0 would.
  return [Math.max(1_024, lo), hi];
}

const BAND = pickBand((() => {
  try {
    return readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8");
  } catch {
    return undefined;
  }
})());

const ATTEMPTS = 50;
const candidate = () => BAND[0] + Math.floor(Math.random() * (BAND[1] - BAND[0] + 1));

function tcpFree(port: number): boolean {
  try {
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.once("error", () => resolve(false));
    s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that nobody holds now and that the kernel will not hand to anyone else. */
export function freePort(): number {
  for (let i = 0; i < ATTEMPTS; i++) {
    const port = candidate();
    if (tcpFree(port)) return port;
  }
  throw new Error(`no free TCP port in ${BAND[0]}-${BAND[1]} after ${ATTEMPTS} tries`);
}

/** The same, free for both TCP and UDP (a DNS server listens on both). */
export async function freeTcpUdpPort(): Promise<number> {
  for (let i = 0; i < ATTEMPTS; i++) {
    const port = candidate();
    if (tcpFree(port) && (await udpFree(port))) return port;
  }
  throw new Error(`no port free for TCP and UDP in ${BAND[0]}-${BAND[1]} after ${ATTEMPTS} tries`);
}
