// Turns one query's bytes into response bytes, serving repeated (name, type) questions from a cache of encoded answers.
//
// Hot path (a cache hit): parse header and question into a reused object, two Map lookups, pick the
// next rotation (answers are rotated so that clients taking the first record spread out), patch
// id, RD/CD and the question bytes (the asker's letter case) into the cached buffer, return it.
// No dns-packet objects, no new buffers. The cache is dropped whenever `view.version` changes and
// when it reaches `maxCacheEntries` (random names must not grow it without bound).
// The returned bytes are shared: send or copy them before the next `respond` call.
import * as dnsPacket from "dns-packet";
import type { Answer } from "dns-packet";
import type { CatalogView } from "./catalog-view.ts";
import { isUnderDomain, normalizeDomain, routeName } from "./dns-names.ts";
import { createParsedQuery, parseQuery, QUERY_DROP, QUERY_FORMERR, QUERY_NOTIMP, type ParsedQuery } from "./dns-query.ts";
import { spliceQuestion } from "./dns-wire.ts";
import { buildRecords, RCODE_FORMERR, RCODE_NOTIMP, RCODE_REFUSED, RCODE_SERVFAIL, type RecordOptions } from "./dns-records.ts";

export interface DnsResponderOptions {
  /** Served zone, e.g. "polis". */
  domain: string;
  /** TTL of positive answers, seconds. */
  ttl: number;
  /** TTL of negative answers (NXDOMAIN, NODATA) via the SOA; defaults to `ttl`. */
  negativeTtl?: number;
  view: CatalogView;
  /** Answer passing endpoints only (Consul's `only_passing`); default false: passing and warning. */
  onlyPassing?: boolean;
  /** Largest UDP response sent to EDNS0 clients, and the size advertised in our OPT. */
  maxUdpSize?: number;
  maxCacheEntries?: number;
}

export interface DnsResponder {
  /** Response for one query, or undefined to send nothing. `udp` enables truncation. */
  respond(query: Uint8Array, udp: boolean): Uint8Array | undefined;
  readonly cacheSize: number;
  /** New TTLs for every answer from now on; cached answers carry the old ones, so the cache is dropped. */
  setTtl(ttl: number, negativeTtl: number): void;
}

interface CachedAnswer {
  /** The full answer, once per rotation of its answer records (one when there is nothing to rotate). */
  rotations: Buffer[];
  next: number;
  truncated: Buffer | undefined;
}

const HEADER = 12;
const CLASSIC_UDP_LIMIT = 512;
// 1232 avoids IP fragmentation on common paths (DNS flag day 2020); loopback would allow more.
const DEFAULT_MAX_UDP = 1232;
const DEFAULT_MAX_CACHE = 10_000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const CLASS_IN = 1;
const CLASS_ANY = 255;
const TYPE_OPT = 41;
const TYPE_IXFR = 251;
const TYPE_AXFR = 252;
const BADVERS_HIGH_BITS = 1; // extended rcode 16 = 1 << 4 in the OPT's upper 8 bits
// Clients mostly take the first address: successive answers start at the next endpoint. Beyond this
// many the cost is memory (one encoded answer each) for little gain, so larger sets cycle through 16 starts.
const MAX_ROTATIONS = 16;

export function createDnsResponder(options: DnsResponderOptions): DnsResponder {
  const domain = normalizeDomain(options.domain);
  const view = options.view;
  const maxUdp = Math.max(CLASSIC_UDP_LIMIT, options.maxUdpSize ?? DEFAULT_MAX_UDP);
  const maxEntries = options.maxCacheEntries ?? DEFAULT_MAX_CACHE;
  let recordOpts: RecordOptions = {
    domain,
    ttl: options.ttl,
    negativeTtl: options.negativeTtl ?? options.ttl,
    onlyPassing: options.onlyPassing ?? false,
  };
  const q: ParsedQuery = createParsedQuery();
  const cache = new Map<number, Map<string, CachedAnswer>>();
  let entries = 0;
  let cachedVersion = view.version;
  // Header + longest question (255-byte name, type, class) + OPT: room for any answer without records.
  const bare = Buffer.alloc(HEADER + 255 + 4 + 11);

  function respondOnce(query: Uint8Array, udp: boolean): Uint8Array | undefined {
    const status = parseQuery(query, q);
    if (status === QUERY_DROP) return undefined;
    if (status === QUERY_FORMERR) return writeBare(query, RCODE_FORMERR, false, 0);
    if (status === QUERY_NOTIMP) return writeBare(query, RCODE_NOTIMP, true, 0);
    if (q.edns && q.ednsVersion !== 0) return writeBare(query, 0, true, BADVERS_HIGH_BITS);
    if (q.qtype === TYPE_OPT) return writeBare(query, RCODE_FORMERR, true, 0); // OPT is not a question (RFC 6891)
    const foreign = (q.qclass !== CLASS_IN && q.qclass !== CLASS_ANY) || !isUnderDomain(q.name, domain);
    const transfer = q.qtype === TYPE_AXFR || q.qtype === TYPE_IXFR; // the catalog is not offered as a zone
    if (foreign || transfer) return writeBare(query, RCODE_REFUSED, true, 0);

    const version = view.version;
    if (version !== cachedVersion) {
      cache.clear();
      entries = 0;
      cachedVersion = version;
    }
    const slot = (q.qtype << 1) | (q.edns ? 1 : 0);
    let byName = cache.get(slot);
    let entry = byName?.get(q.name);
    if (entry === undefined) {
      try {
        entry = buildEntry(query);
      } catch {
        return writeBare(query, RCODE_SERVFAIL, true, 0);
      }
      if (entries >= maxEntries) {
        cache.clear();
        entries = 0;
        byName = undefined;
      }
      if (byName === undefined) {
        byName = new Map();
        cache.set(slot, byName);
      }
      byName.set(q.name, entry);
      entries++;
    }

    let out = entry.rotations[entry.next];
    if (entry.rotations.length > 1) entry.next = (entry.next + 1) % entry.rotations.length;
    if (udp && out.length > (q.edns ? Math.min(maxUdp, Math.max(CLASSIC_UDP_LIMIT, q.ednsUdpSize)) : CLASSIC_UDP_LIMIT)) {
      entry.truncated ??= encodeResponse(query, FLAG_AA | FLAG_TC, [], [], []);
      out = entry.truncated;
    }
    out[0] = query[0];
    out[1] = query[1];
    out[2] = (out[2] & 0xfe) | (query[2] & 0x01); // RD echoed
    out[3] = (out[3] & 0xef) | (query[3] & 0x10); // CD echoed
    for (let i = HEADER; i < q.questionEnd; i++) out[i] = query[i];
    return out;
  }

  function buildEntry(query: Uint8Array): CachedAnswer {
    const set = buildRecords(q.name, q.qtype, routeName(q.name, domain), view, recordOpts);
    const n = set.answers.length;
    const rotations: Buffer[] = [];
    for (let r = 0; r < Math.min(Math.max(n, 1), MAX_ROTATIONS); r++) {
      const start = Math.floor((r * n) / Math.min(n, MAX_ROTATIONS));
      const answers = r === 0 ? set.answers : [...set.answers.slice(start), ...set.answers.slice(0, start)];
      rotations.push(encodeResponse(query, FLAG_AA | set.rcode, answers, set.authorities, set.additionals));
    }
    return { rotations, next: 0, truncated: undefined };
  }

  /** Encodes records with dns-packet, then splices in the query's own question bytes (see dns-wire.ts). */
  function encodeResponse(query: Uint8Array, flags: number, answers: Answer[], authorities: Answer[], additionals: Answer[]): Buffer {
    const extra = q.edns ? [...additionals, optRecord(0)] : additionals;
    const body = dnsPacket.encode({ type: "response", id: 0, flags, questions: [], answers, authorities, additionals: extra });
    return spliceQuestion(body, query.subarray(HEADER, q.questionEnd));
  }

  function optRecord(extendedRcode: number): Answer {
    return { name: ".", type: "OPT", udpPayloadSize: maxUdp, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
  }

  /** A response without records (errors, REFUSED), written into one reused buffer. */
  function writeBare(query: Uint8Array, rcode: number, withQuestion: boolean, extendedRcode: number): Uint8Array {
    const qEnd = withQuestion ? q.questionEnd : HEADER;
    const withOpt = withQuestion && q.edns;
    bare.fill(0, 0, HEADER);
    bare[0] = query[0];
    bare[1] = query[1];
    bare[2] = 0x80 | (query[2] & 0x79); // QR, opcode and RD echoed; AA clear: not our authority or an error
    bare[3] = (query[3] & 0x10) | (rcode & 0x0f);
    bare[5] = withQuestion ? 1 : 0;
    bare[11] = withOpt ? 1 : 0;
    for (let i = HEADER; i < qEnd; i++) bare[i] = query[i];
    let n = qEnd;
    if (withOpt) {
      bare.fill(0, n, n + 11);
      bare[n + 2] = 41; // type OPT
      bare.writeUInt16BE(maxUdp, n + 3);
      bare[n + 5] = extendedRcode;
      n += 11;
    }
    return bare.subarray(0, n);
  }

  return {
    respond: function respond(query, udp) {
      try {
        return respondOnce(query, udp);
      } catch {
        return undefined; // never let one packet take the listener down
      }
    },
    get cacheSize() {
      return entries;
    },
    setTtl(ttl, negativeTtl) {
      recordOpts = { ...recordOpts, ttl, negativeTtl };
      cache.clear();
      entries = 0;
    },
  };
}
