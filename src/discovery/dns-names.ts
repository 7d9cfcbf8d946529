// Maps a lower-cased query name to what it asks for under the served domain: the apex, a service, an SRV name or an address name.
//
// Names under `<domain>` (labels left of it, read right to left):
//   (none)                         apex: SOA
//   NAME | NAME.NAMESPACE          service NAME (namespace "default" when omitted): A, AAAA, SRV
//   _NAME._tcp | _NAME._tcp.NAMESPACE   SRV of service NAME (also _udp)
//   HEX.addr                       address host named by SRV targets: 8 hex digits (A) or 32 (AAAA)
//   NAME.NODE.node | NAME.NAMESPACE.NODE.node   service NAME's endpoints on cluster node NODE only: A, AAAA, SRV
//   _tcp, _udp, addr, X._tcp...    empty non-terminals or nothing: `empty` (NODATA) / `unknown` (NXDOMAIN)
// Caveat: `NAMESPACE.<domain>` alone reads as a service named NAMESPACE; when there is none the
// answer is NXDOMAIN although names exist below it (resolvers that cut on NXDOMAIN, RFC 8020,
// may then hide the namespace's services for the negative TTL).

export const DEFAULT_NAMESPACE = "default";
export const ADDR_LABEL = "addr";
export const NODE_LABEL = "node";

export type DnsRoute =
  | { readonly kind: "outside" }
  | { readonly kind: "apex" }
  | { readonly kind: "empty" }
  | { readonly kind: "unknown" }
  | { readonly kind: "service"; readonly service: string; readonly namespace: string; readonly srvOnly: boolean; readonly node?: string }
  | { readonly kind: "addr"; readonly address: string; readonly family: 4 | 6 };

const OUTSIDE: DnsRoute = { kind: "outside" };
const APEX: DnsRoute = { kind: "apex" };
const EMPTY: DnsRoute = { kind: "empty" };
const UNKNOWN: DnsRoute = { kind: "unknown" };

/** Normalizes a configured domain: lower case, no leading or trailing dot ("Polis." -> "polis"). */
export function normalizeDomain(domain: string): string {
  return domain.toLowerCase().replace(/^\.+|\.+$/g, "");
}

/** True when `name` is `domain` or ends in `.domain` (both already lower-cased, no trailing dot). */
export function isUnderDomain(name: string, domain: string): boolean {
  if (!name.endsWith(domain)) return false;
  const rest = name.length - domain.length;
  return rest === 0 || name.charCodeAt(rest - 1) === 0x2e;
}

const isProto = (label: string) => label === "_tcp" || label === "_udp";
const isServiceLabel = (label: string) => label.length > 0 && !label.startsWith("_");

export function routeName(name: string, domain: string): DnsRoute {
  if (!isUnderDomain(name, domain)) return OUTSIDE;
  if (name.length === domain.length) return APEX;
  const labels = name.slice(0, name.length - domain.length - 1).split(".");
  const [a, b, c] = labels;
  if (labels.length === 1) {
    if (isProto(a) || a === ADDR_LABEL) return EMPTY;
    return isServiceLabel(a) ? service(a, DEFAULT_NAMESPACE, false) : UNKNOWN;
  }
  if (labels.length === 2) {
    if (b === ADDR_LABEL) return addressRoute(a);
    if (isProto(b)) return a.length > 1 && a.startsWith("_") ? service(a.slice(1), DEFAULT_NAMESPACE, true) : UNKNOWN;
    if (isProto(a)) return EMPTY; // _tcp.NAMESPACE: parent of that namespace's SRV names
    return isServiceLabel(a) && isServiceLabel(b) ? service(a, b, false) : UNKNOWN;
  }
  if (labels.length === 3 && isProto(b) && a.length > 1 && a.startsWith("_") && isServiceLabel(c)) {
    return service(a.slice(1), c, true);
  }
  // Node-local answers (Consul's <node>.node): NAME.NODE.node and NAME.NAMESPACE.NODE.node.
  if (labels.length === 3 && c === NODE_LABEL && isServiceLabel(a) && isServiceLabel(b)) return { kind: "service", service: a, namespace: DEFAULT_NAMESPACE, srvOnly: false, node: b };
  if (labels.length === 4 && labels[3] === NODE_LABEL && isServiceLabel(a) && isServiceLabel(b) && isServiceLabel(c)) return { kind: "service", service: a, namespace: b, srvOnly: false, node: c };
  return UNKNOWN;
}

function service(name: string, namespace: string, srvOnly: boolean): DnsRoute {
  return { kind: "service", service: name, namespace, srvOnly };
}

function addressRoute(hex: string): DnsRoute {
  if (!/^[0-9a-f]+$/.test(hex)) return UNKNOWN;
  if (hex.length === 8) return { kind: "addr", address: hexToIpv4(hex), family: 4 };
  if (hex.length === 32) return { kind: "addr", address: hexToIpv6(hex), family: 6 };
  return UNKNOWN;
}

function hexToIpv4(hex: string): string {
  const parts: number[] = [];
  for (let i = 0; i < 8; i += 2) parts.push(parseInt(hex.slice(i, i + 2), 16));
  return parts.join(".");
}

function hexToIpv6(hex: string): string {
  const groups: string[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
  return groups.join(":");
}
