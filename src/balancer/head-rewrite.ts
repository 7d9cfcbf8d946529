// Builds the forwarded request head (and, when needed, the returned response head) in one buffer with the first body bytes.
//
// Kept header lines are copied verbatim in contiguous runs (usually one copy for the whole head);
// the proxy's own lines are appended. The result is written to the socket in a single write().

import { eqLower, FIELDS_PER_HEADER as F, type Head } from "./http-parser.ts";

const CRLF = Buffer.from("\r\n");
const XFF = Buffer.from("X-Forwarded-For: ");
const XFF_SEP = Buffer.from(", ");
const CONN_UPGRADE = Buffer.from("Connection: upgrade\r\n");
const CONN_CLOSE = Buffer.from("Connection: close\r\n");
const CONN_KEEP = Buffer.from("Connection: keep-alive\r\n");
const SET_COOKIE = Buffer.from("Set-Cookie: ");

/**
 * Per-connection constant lines, built once when the client connects, so a typical head is four copies: the kept
 * lines, the X-Forwarded-For line with "X-Forwarded-Host: ", the host, and the CRLF with the rest (each copy is a
 * native call, which costs more than the bytes).
 */
export interface ForwardTail {
  /** "X-Forwarded-Proto: http|https\r\nVia: 1.1 <name>\r\n\r\n" */
  tail: Buffer;
  /** "X-Forwarded-For: <ip>\r\n" (no incoming list) */
  xffLine: Buffer;
  /** xffLine then "X-Forwarded-Host: " */
  xffLineXfh: Buffer;
  /** "<ip>\r\n" after an incoming list */
  ipLine: Buffer;
  /** ipLine then "X-Forwarded-Host: " */
  ipLineXfh: Buffer;
  /** "\r\n" then tail: ends the X-Forwarded-Host line and the head */
  crlfTail: Buffer;
}

/** Tails are immutable, so connections from one address share them (bounded: cleared when full). */
const tails = new Map<string, ForwardTail>();
const MAX_CACHED_TAILS = 1024;

export function createForwardTail(clientIp: string, proto: "http" | "https", via: string): ForwardTail {
  const key = `${proto} ${clientIp} ${via}`;
  const cached = tails.get(key);
  if (cached !== undefined) return cached;
  const tail = `X-Forwarded-Proto: ${proto}\r\nVia: 1.1 ${via}\r\n\r\n`;
  const t: ForwardTail = {
    tail: Buffer.from(tail),
    xffLine: Buffer.from(`X-Forwarded-For: ${clientIp}\r\n`),
    xffLineXfh: Buffer.from(`X-Forwarded-For: ${clientIp}\r\nX-Forwarded-Host: `),
    ipLine: Buffer.from(`${clientIp}\r\n`),
    ipLineXfh: Buffer.from(`${clientIp}\r\nX-Forwarded-Host: `),
    crlfTail: Buffer.from(`\r\n${tail}`),
  };
  if (tails.size >= MAX_CACHED_TAILS) tails.clear();
  tails.set(key, t);
  return t;
}

/** Sum of kept header runs, plus the request line; `first` is where the request line starts. */
function keptLength(h: Head, first: number): number {
  const hdr = h.hdr;
  let n = h.count > 0 ? hdr[0] - first : h.end - 2 - first;
  for (let k = 0; k < h.count; k++) if (h.drop[k] === 0) n += hdr[k * F + 4] - hdr[k * F];
  return n;
}

/** Copy the start line and every kept header line of b into out at pos; returns the new pos. */
function copyKept(b: Buffer, h: Head, first: number, out: Buffer, pos: number): number {
  const hdr = h.hdr;
  let runStart = first;
  let runEnd = h.count > 0 ? hdr[0] : h.end - 2;
  for (let k = 0; k < h.count; k++) {
    const o = k * F;
    if (h.drop[k] === 0) {
      if (hdr[o] === runEnd) runEnd = hdr[o + 4];
      else {
        pos += b.copy(out, pos, runStart, runEnd);
        runStart = hdr[o]; runEnd = hdr[o + 4];
      }
    }
  }
  return pos + b.copy(out, pos, runStart, runEnd);
}

/**
 * Forwarded request head followed by body bytes b[bodyStart..bodyEnd). Hop-by-hop and
 * client-supplied X-Forwarded-Proto/-Host lines are gone (the parser marked them dropped).
 */
export function buildRequestHead(b: Buffer, h: Head, t: ForwardTail, bodyStart: number, bodyEnd: number): Buffer {
  const first = h.targetStart - h.method.length - 1;
  const hdr = h.hdr;
  const ho = h.hostIdx * F;
  const list = h.xffIdx >= 0 ? forEachXff(b, h, undefined, 0) : 0;
  const hasHost = h.hostIdx >= 0;
  // "X-Forwarded-For: " [incoming list] ip CRLF ["X-Forwarded-Host: " host CRLF] X-Forwarded-Proto Via CRLF
  const ipPart = list > 0 ? (hasHost ? t.ipLineXfh : t.ipLine) : hasHost ? t.xffLineXfh : t.xffLine;
  let len = keptLength(h, first) + (list > 0 ? XFF.length + list : 0) + ipPart.length + (bodyEnd - bodyStart);
  len += hasHost ? hdr[ho + 3] - hdr[ho + 2] + t.crlfTail.length : t.tail.length;
  if (h.upgrade) len += CONN_UPGRADE.length;
  const out = Buffer.allocUnsafe(len);
  let p = copyKept(b, h, first, out, 0);
  if (h.upgrade) p += CONN_UPGRADE.copy(out, p);
  if (list > 0) {
    p += XFF.copy(out, p);
    p += forEachXff(b, h, out, p);
  }
  p += ipPart.copy(out, p);
  if (hasHost) {
    p += b.copy(out, p, hdr[ho + 2], hdr[ho + 3]);
    p += t.crlfTail.copy(out, p);
  } else p += t.tail.copy(out, p);
  if (bodyEnd > bodyStart) b.copy(out, p, bodyStart, bodyEnd);
  return out;
}

/**
 * The incoming X-Forwarded-For lists, each followed by ", " (empty values skipped), copied into out at pos when
 * out is given; returns their length. Several lines are one list in order (RFC 9110 section 5.3).
 */
function forEachXff(b: Buffer, h: Head, out: Buffer | undefined, pos: number): number {
  if (h.xffIdx < 0) return 0;
  const hdr = h.hdr;
  let n = 0, seen = 0;
  for (let k = h.xffIdx; k < h.count && seen < h.xffCount; k++) {
    const o = k * F;
    if (k !== h.xffIdx && !(hdr[o + 1] - hdr[o] === 15 && eqLower(b, hdr[o], hdr[o + 1], "x-forwarded-for"))) continue;
    seen++;
    const vs = hdr[o + 2], ve = hdr[o + 3];
    if (ve <= vs) continue;
    if (out !== undefined) {
      b.copy(out, pos + n, vs, ve);
      XFF_SEP.copy(out, pos + n + ve - vs);
    }
    n += ve - vs + XFF_SEP.length;
  }
  return n;
}

/** Connection line to add to a rewritten response: none, close, or keep-alive (for HTTP/1.0 clients). */
export const RESP_CONN_NONE = 0;
export const RESP_CONN_CLOSE = 1;
export const RESP_CONN_KEEP = 2;

/** Response head without hop-by-hop lines, plus an optional Set-Cookie and Connection line, then body bytes. */
export function buildResponseHead(
  b: Buffer, h: Head, cookie: string | undefined, conn: number, bodyStart: number, bodyEnd: number,
): Buffer {
  const cookieBytes = cookie === undefined ? undefined : Buffer.from(cookie);
  const connLine = conn === RESP_CONN_CLOSE ? CONN_CLOSE : conn === RESP_CONN_KEEP ? CONN_KEEP : undefined;
  let len = keptLength(h, 0) + 2 + (bodyEnd - bodyStart);
  if (cookieBytes) len += SET_COOKIE.length + cookieBytes.length + 2;
  if (connLine) len += connLine.length;
  const out = Buffer.allocUnsafe(len);
  let p = copyKept(b, h, 0, out, 0);
  if (cookieBytes) {
    p += SET_COOKIE.copy(out, p);
    p += cookieBytes.copy(out, p);
    p += CRLF.copy(out, p);
  }
  if (connLine) p += connLine.copy(out, p);
  p += CRLF.copy(out, p);
  if (bodyEnd > bodyStart) b.copy(out, p, bodyStart, bodyEnd);
  return out;
}
