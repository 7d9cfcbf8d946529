// Bench proxy process: one Polis HTTP or TCP listener (reusePort) over fixed upstreams; prints "ready <port>",
// and on SIGTERM "served <requests> <connections>" (the bench reports how reusePort split the load).
// Usage: bun polis-proxy.ts http|tcp <listenPort> <upstreamPort>...

import { createHttpProxy } from "../../../src/balancer/http-proxy.ts";
import type { L4Pool, ProxyEndpoint, ProxyPool } from "../../../src/balancer/proxy-pool.ts";
import { createTcpProxy } from "../../../src/balancer/tcp-proxy.ts";

const [mode, listenPort, ...upstreamPorts] = process.argv.slice(2);
const endpoints: ProxyEndpoint[] = upstreamPorts.map((p) => ({ id: `127.0.0.1:${p}`, address: "127.0.0.1", port: Number(p) }));
let next = 0;
let conns = 0;
// Plain round robin, standing in for the pool + Picker the agent plugs in.
const pool: ProxyPool & L4Pool = { pick: () => endpoints[next++ % endpoints.length] };
const proxy = mode === "tcp"
  ? createTcpProxy({ hostname: "127.0.0.1", port: Number(listenPort), pool })
  : createHttpProxy({ hostname: "127.0.0.1", port: Number(listenPort), pool });
console.log(`ready ${proxy.port}`);
// Connections seen: the peak of the open-connection gauge, sampled (wrk opens them all at once and keeps them).
setInterval(() => { conns = Math.max(conns, proxy.stats().listener.active); }, 200).unref();
process.on("SIGTERM", () => {
  const s = proxy.stats().listener;
  console.log(`served ${s.requests} ${Math.max(conns, s.active)}`);
  void proxy.close(200).then(() => process.exit(0));
});
