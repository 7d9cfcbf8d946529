// The DNS server's view of the catalog, and the DNS server started from the dns section of the config.
import type { Config } from "../config/schema.ts";
import { splitListen } from "../config/units.ts";
import type { CatalogView } from "../discovery/catalog-view.ts";
import { createDnsServer, type DnsServer } from "../discovery/dns-server.ts";
import type { Catalog } from "../state/catalog.ts";
import type { Logger } from "../telemetry/logger.ts";

/**
 * A drained endpoint is answered with weight 0 (still resolvable, no new SRV-weighted traffic). A node-local name
 * answers the endpoints of that cluster node: this node's own when it names `localNode` (lower-cased).
 */
export function catalogDnsView(catalog: Pick<Catalog, "version" | "list">, localNode?: string): CatalogView {
  const local = localNode?.toLowerCase();
  return {
    get version() {
      return catalog.version;
    },
    resolve(name, namespace, node) {
      const s = catalog.list({ namespace }).find((x) => x.name.toLowerCase() === name);
      if (!s) return undefined;
      const on = node === undefined ? s.endpoints : s.endpoints.filter((e) => (e.node === undefined ? node === local : e.node.toLowerCase() === node));
      // A node that serves none of the service's endpoints has no such name.
      if (node !== undefined && on.length === 0) return undefined;
      return { endpoints: on.map((e) => ({ id: e.id, address: e.address, port: e.port, weight: e.draining ? 0 : e.weight, health: e.health })) };
    },
  };
}

/** dns.ttl (milliseconds) as the whole seconds DNS answers carry. */
export const dnsTtlSeconds = (dnsConfig: Config["dns"]) => Math.max(0, Math.round(dnsConfig.ttl / 1000));

/** Starts DNS when enabled; undefined when it is not. */
export async function startDns(
  dnsConfig: Config["dns"],
  catalog: Pick<Catalog, "version" | "list">,
  log: Logger,
  onAnswer?: (type: string, rcode: string, transport: "udp" | "tcp") => void,
  localNode?: string,
): Promise<DnsServer | undefined> {
  if (!dnsConfig.enabled) return undefined;
  const { hostname, port } = splitListen(dnsConfig.listen);
  const dns = await createDnsServer({
    udp: { hostname, port },
    tcp: { hostname, port },
    domain: dnsConfig.domain,
    ttl: dnsTtlSeconds(dnsConfig),
    view: catalogDnsView(catalog, localNode),
    ...(onAnswer ? { onAnswer } : {}),
  });
  log.info("DNS listening", { udp: `${hostname}:${dns.udpPort}`, tcp: `${hostname}:${dns.tcpPort}`, domain: dnsConfig.domain });
  return dns;
}
