// Reads what an answer says (question type, response code) from its bytes, for metrics; no copy, no decode.
import type { DnsResponder } from "./dns-responder.ts";

const TYPE_NAMES: Readonly<Record<number, string>> = { 1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 255: "ANY" };
const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

/** The question type of a DNS message (the first question's QTYPE), or "none" when it has no readable question. */
export function questionType(msg: Uint8Array): string {
  if (msg.length < 12 || ((msg[4]! << 8) | msg[5]!) === 0) return "none";
  let i = 12;
  // Labels up to the root; a question name never uses compression, so a pointer means "unreadable".
  while (i < msg.length && msg[i] !== 0) {
    if ((msg[i]! & 0xc0) !== 0) return "none";
    i += msg[i]! + 1;
  }
  if (i + 2 >= msg.length) return "none";
  const type = (msg[i + 1]! << 8) | msg[i + 2]!;
  return TYPE_NAMES[type] ?? "other";
}

export function responseCode(msg: Uint8Array): string {
  return msg.length < 4 ? "none" : (RCODE_NAMES[msg[3]! & 0x0f] ?? "other");
}

export type DnsAnswerObserver = (type: string, rcode: string, transport: "udp" | "tcp") => void;

/** The responder, telling `observe` about every answer it gives (a query it drops gets none). */
export function observeResponder(responder: DnsResponder, observe: DnsAnswerObserver): DnsResponder {
  return {
    get cacheSize() {
      return responder.cacheSize;
    },
    respond: function respondObserved(query, udp) {
      const out = responder.respond(query, udp);
      if (out !== undefined) observe(questionType(out), responseCode(out), udp ? "udp" : "tcp");
      return out;
    },
    setTtl: (ttl, negativeTtl) => responder.setTtl(ttl, negativeTtl),
  };
}
