// Decides what a query under the served domain gets: rcode and resource records, from a route and the catalog view.
//
// Runs only on a cache miss, so it favours clarity over allocation. Rules:
// - A / AAAA: one record per answerable endpoint of that family (IPv4 -> A, IPv6 -> AAAA).
// - SRV (on NAME or _NAME._tcp names): priority 1, weight = endpoint weight clamped to 0..65535,
//   target `<hex>.addr.<domain>` with its A/AAAA in the additional section.
// - ANY on a service: its A and AAAA records (RFC 8482 lets a server answer a subset; this is the
//   useful subset, and UDP truncation already bounds the amplification). ANY at the apex: SOA.
// - A known name without records of the asked type: NOERROR, no answers, SOA in authority (NODATA).
// - An unknown name: NXDOMAIN with SOA in authority (RFC 2308 negative caching).
import type { Answer } from "dns-packet";
import { isAnswerable, type CatalogView, type ViewEndpoint } from "./catalog-view.ts";
import { addressFamily, addressLabel } from "./dns-address.ts";
import { ADDR_LABEL, type DnsRoute } from "./dns-names.ts";

export const TYPE_A = 1;
export const TYPE_SOA = 6;
export const TYPE_SRV = 33;
export const TYPE_AAAA = 28;
export const TYPE_ANY = 255;
export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;

export interface RecordOptions {
  readonly domain: string;
  readonly ttl: number;
  readonly negativeTtl: number;
  readonly onlyPassing: boolean;
}

export interface RecordSet {
  rcode: number;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

export function buildRecords(
  name: string,
  qtype: number,
  route: DnsRoute,
  view: CatalogView,
  opts: RecordOptions,
): RecordSet {
  const set: RecordSet = { rcode: RCODE_NOERROR, answers: [], authorities: [], additionals: [] };
  const { ttl } = opts;
  switch (route.kind) {
    case "outside":
      set.rcode = RCODE_REFUSED;
      return set;
    case "apex":
      if (qtype === TYPE_SOA || qtype === TYPE_ANY) set.answers.push(soa(view, opts, opts.ttl));
      break;
    case "empty":
      break;
    case "unknown":
      set.rcode = RCODE_NXDOMAIN;
      break;
    case "addr":
      if (qtype === TYPE_ANY || qtype === (route.family === 4 ? TYPE_A : TYPE_AAAA)) {
        set.answers.push(addressRecord(name, route.address, route.family, ttl));
      }
      break;
    case "service": {
      const resolved = route.node === undefined ? view.resolve(route.service, route.namespace) : view.resolve(route.service, route.namespace, route.node);
      if (resolved === undefined) {
        set.rcode = RCODE_NXDOMAIN;
        break;
      }
      const endpoints = resolved.endpoints.filter((e) => isAnswerable(e.health, opts.onlyPassing));
      if (qtype === TYPE_SRV || (route.srvOnly && qtype === TYPE_ANY)) {
        addSrv(set, name, endpoints, opts);
      } else if (!route.srvOnly && (qtype === TYPE_A || qtype === TYPE_AAAA || qtype === TYPE_ANY)) {
        for (const e of endpoints) {
          const family = addressFamily(e.address);
          if (family === 0) continue;
          if (qtype === TYPE_ANY || qtype === (family === 4 ? TYPE_A : TYPE_AAAA)) {
            set.answers.push(addressRecord(name, e.address, family, ttl));
          }
        }
      }
      break;
    }
  }
  if (set.answers.length === 0) set.authorities.push(soa(view, opts, opts.negativeTtl));
  return set;
}

function addSrv(set: RecordSet, name: string, endpoints: readonly ViewEndpoint[], opts: RecordOptions): void {
  const targets = new Set<string>();
  for (const e of endpoints) {
    const label = addressLabel(e.address);
    if (label === undefined) continue;
    const target = `${label}.${ADDR_LABEL}.${opts.domain}`;
    set.answers.push({
      name,
      type: "SRV",
      ttl: opts.ttl,
      data: { priority: 1, weight: srvWeight(e.weight), port: e.port, target },
    });
    if (!targets.has(target)) {
      targets.add(target);
      set.additionals.push(addressRecord(target, e.address, addressFamily(e.address) as 4 | 6, opts.ttl));
    }
  }
}

/** SRV weight is 16 bits; a fractional or out-of-range effective weight is rounded and clamped. */
export function srvWeight(weight: number): number {
  if (!Number.isFinite(weight)) return weight > 0 ? 65535 : 0;
  return Math.min(65535, Math.max(0, Math.round(weight)));
}

function addressRecord(name: string, address: string, family: 4 | 6, ttl: number): Answer {
  return { name, type: family === 4 ? "A" : "AAAA", ttl, data: address };
}

function soa(view: CatalogView, opts: RecordOptions, ttl: number): Answer {
  // In authority sections ttl is the negative TTL: resolvers cache a negative answer for min(TTL, minimum).
  return {
    name: opts.domain,
    type: "SOA",
    ttl,
    data: {
      mname: `ns.${opts.domain}`,
      rname: `hostmaster.${opts.domain}`,
      serial: Math.trunc(view.version) >>> 0,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: opts.negativeTtl,
    },
  };
}
