// Standalone Polis DNS server over the benchmark catalog: `bun scripts/bench/dns-server-runner.ts [port]`, prints "ready <port>".
import { createMemoryCatalogView } from "../../src/discovery/catalog-view.ts";
import { createDnsServer } from "../../src/discovery/dns-server.ts";
import { benchServices } from "./dns-fixture.ts";

const port = Number(process.argv[2] ?? 0);
const view = createMemoryCatalogView();
for (const s of benchServices()) view.set(s.name, "default", s.endpoints);
const server = await createDnsServer({
  udp: { hostname: "127.0.0.1", port },
  tcp: { hostname: "127.0.0.1", port },
  domain: "polis",
  ttl: 30,
  view,
});
console.log(`ready ${server.udpPort}`);
const stop = () => {
  server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
