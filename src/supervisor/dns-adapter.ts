// The DNS server's view of the catalog, and the DNS server started from the dns section of the config.
import type { Config } from "../config/schema.ts";
import { splitListen } from "../config/units.ts";
import type { CatalogView } from "../discovery/catalog-view.ts";
import { createDnsServer, type DnsServer } from "../discovery/dns-server.ts";
import type { Catalog } from "../state/catalog.ts";
import type { Logger } from "../telemetry/logger.ts";

/** A drained endpoint is answered with weight 0 (still resolvable, no new SRV-weighted traffic). */
export function catalogDnsView(catalog: Pick<Catalog, "version" | "list">): CatalogView {
  return {
    get version() {
      return catalog.version;
    },
    resolve(name, namespace) {
      const s = catalog.list({ namespace }).find((x) => x.name.toLowerCase() === name);
      return s ? { endpoints: s.endpoints.map((e) => ({ id: e.id, address: e.address, port: e.port, weight: e.draining ? 0 : e.weight, health: e.health })) } : undefined;
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
): Promise<DnsServer | undefined> {
  if (!dnsConfig.enabled) return undefined;
  const { hostname, port } = splitListen(dnsConfig.listen);
  const dns = await createDnsServer({
    udp: { hostname, port },
    tcp: { hostname, port },
    domain: dnsConfig.domain,
    ttl: dnsTtlSeconds(dnsConfig),
    view: catalogDnsView(catalog),
    ...(onAnswer ? { onAnswer } : {}),
  });
  log.info("DNS listening", { udp: `${hostname}:${dns.udpPort}`, tcp: `${hostname}:${dns.tcpPort}`, domain: dnsConfig.domain });
  return dns;
}
