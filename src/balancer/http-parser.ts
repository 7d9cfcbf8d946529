// Strict HTTP/1.1 request-head and response-head parser over bytes: offsets into the buffer, no strings per header.
//
// The caller accumulates bytes until `findHeadEnd` finds the blank line (or the size limit is hit),
// then calls `parseRequestHead` / `parseResponseHead` once over the complete head. Results go into
// a reusable `Head` object owned by the connection, so a request allocates only its method string
// (interned for the common methods). Any ambiguity that could let two parsers disagree on framing
// (CL + TE, conflicting CL, bare LF, obs-fold, whitespace before the colon) is refused.

export const MAX_HEADERS = 128;
/** Offsets per header in `Head.hdr`: line start, name end, value start, value end, line end (after CRLF). */
const F = 5;

export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;
/** Response body delimited by the upstream closing the connection. */
export const BODY_CLOSE = 3;

export interface Head {
  /** Index just past the terminating CRLFCRLF. */
  end: number;
  method: string;
  targetStart: number;
  targetEnd: number;
  versionMinor: number;
  status: number;
  count: number;
  hdr: Int32Array;
  /** 1 where the header must not be forwarded (hop-by-hop, replaced, or a duplicate). */
  drop: Uint8Array;
  bodyKind: number;
  contentLength: number;
  keepAlive: boolean;
  upgrade: boolean;
  hostIdx: number;
  /** First X-Forwarded-For line, and how many there are (several lines are one list, RFC 9110 5.3). */
  xffIdx: number;
  xffCount: number;
  /** True when at least one header is marked dropped (the head cannot be forwarded verbatim). */
  anyDrop: boolean;
  /**
   * Responses: the only dropped lines are "Connection: keep-alive". Forwarded to an HTTP/1.1 client on a connection
   * the proxy keeps open, the head is true as it stands and need not be rebuilt (nginx sends this on every response).
   */
  dropsOnlyKeepAlive: boolean;
}

export function createHead(): Head {
  return {
    end: 0, method: "", targetStart: 0, targetEnd: 0, versionMinor: 1, status: 0, count: 0,
    hdr: new Int32Array(MAX_HEADERS * F), drop: new Uint8Array(MAX_HEADERS), bodyKind: BODY_NONE,
    contentLength: -1, keepAlive: true, upgrade: false, hostIdx: -1, xffIdx: -1, xffCount: 0, anyDrop: false, dropsOnlyKeepAlive: false,
  };
}

/** Parse outcome: OK, or an HTTP status to refuse with. */
export const PARSE_OK = 0;

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;

/** RFC 9110 tchar. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;
/** Field-value bytes: HTAB, SP, VCHAR, obs-text. */
const VCHAR = new Uint8Array(256);
VCHAR[HT] = 1;
for (let c = 32; c <= 126; c++) VCHAR[c] = 1;
for (let c = 128; c <= 255; c++) VCHAR[c] = 1;

const HEAD_END = Buffer.from("\r\n\r\n");

/**
 * Index just past the CRLFCRLF ending the head, -1 when more bytes are needed, or -2 when a bare
 * LF line ending makes the head unparseable (a strict parser refuses it rather than guess).
 */
export function findHeadEnd(buf: Buffer, from: number): number {
  const i = buf.indexOf(HEAD_END, from > 3 ? from - 3 : 0);
  if (i >= 0) return i + 4;
  if (hasBareLf(buf, from, buf.length)) return -2;
  return -1;
}

function hasBareLf(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i] === LF && (i === 0 || b[i - 1] !== CR)) return true;
  return false;
}

const METHODS = ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"];

function methodString(b: Uint8Array, s: number, e: number): string {
  const n = e - s;
  for (const m of METHODS) {
    if (m.length !== n) continue;
    let ok = true;
    for (let i = 0; i < n; i++) if (b[s + i] !== m.charCodeAt(i)) { ok = false; break; }
    if (ok) return m;
  }
  return String.fromCharCode.apply(null, Array.from(b.subarray(s, e)));
}

/** Case-insensitive compare of b[s..e) with a lower-case ASCII literal. */
export function eqLower(b: Uint8Array, s: number, e: number, lit: string): boolean {
  if (e - s !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if ((b[s + i] | 0x20) !== lit.charCodeAt(i)) return false;
  return true;
}

function parseVersion(b: Uint8Array, i: number): number {
  // "HTTP/1.x"
  if (b[i] !== 72 || b[i + 1] !== 84 || b[i + 2] !== 84 || b[i + 3] !== 80 || b[i + 4] !== 47) return -1;
  if (b[i + 5] !== 49 || b[i + 6] !== 46) return b[i + 5] >= 48 && b[i + 5] <= 57 ? -2 : -1;
  if (b[i + 7] === 49) return 1;
  if (b[i + 7] === 48) return 0;
  return -1;
}

/** Parse a request head in b[0..end). Returns PARSE_OK or the status to refuse with (400, 431, 505). */
export function parseRequestHead(b: Uint8Array, end: number, h: Head): number {
  let i = 0;
  while (i + 1 < end && b[i] === CR && b[i + 1] === LF) i += 2; // tolerated leading empty lines
  const ms = i;
  while (i < end && TCHAR[b[i]] === 1) i++;
  if (i === ms || b[i] !== SP) return 400;
  h.method = methodString(b, ms, i);
  i++;
  h.targetStart = i;
  while (i < end && b[i] > 0x20 && b[i] < 0x7f) i++;
  if (i === h.targetStart || b[i] !== SP) return 400;
  h.targetEnd = i;
  i++;
  const v = parseVersion(b, i);
  if (v === -2) return 505;
  if (v < 0) return 400;
  h.versionMinor = v;
  i += 8;
  if (b[i] !== CR || b[i + 1] !== LF) return 400;
  i += 2;
  const st = parseFields(b, i, end, h, true);
  if (st !== PARSE_OK) return st;
  if (v === 1 && h.hostIdx < 0) return 400;
  if (h.upgrade && h.bodyKind !== BODY_NONE) return 400;
  if (!absoluteFormAgrees(b, h)) return 400;
  return PARSE_OK;
}

/**
 * An absolute-form target ("http://authority/path") must name the same authority as Host, or an upstream that
 * routes on one and a filter that checks the other disagree (HAProxy refuses it too); userinfo is refused.
 */
function absoluteFormAgrees(b: Uint8Array, h: Head): boolean {
  const s = h.targetStart, e = h.targetEnd;
  let a: number;
  if (e - s >= 7 && eqLower(b, s, s + 7, "http://")) a = s + 7;
  else if (e - s >= 8 && eqLower(b, s, s + 8, "https://")) a = s + 8;
  else return true;
  let ae = a;
  while (ae < e && b[ae] !== 47 && b[ae] !== 63 && b[ae] !== 35) {
    if (b[ae] === 64) return false; // "@": userinfo
    ae++;
  }
  if (ae === a) return false;
  if (h.hostIdx < 0) return true; // HTTP/1.0 without Host: the target is the only authority
  const o = h.hostIdx * F;
  return sameLower(b, a, ae, h.hdr[o + 2], h.hdr[o + 3]);
}

/** Parse a response head in b[0..end). `reqMethod` decides whether a body can follow. */
export function parseResponseHead(b: Uint8Array, end: number, h: Head, headRequest: boolean): number {
  const v = parseVersion(b, 0);
  if (v < 0) return 502;
  h.versionMinor = v;
  let i = 8;
  if (b[i] !== SP) return 502;
  const d0 = b[i + 1] - 48, d1 = b[i + 2] - 48, d2 = b[i + 3] - 48;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return 502;
  h.status = d0 * 100 + d1 * 10 + d2;
  i += 4;
  if (b[i] === SP) {
    i++;
    while (i < end && b[i] !== CR && (VCHAR[b[i]] === 1)) i++;
  }
  if (b[i] !== CR || b[i + 1] !== LF) return 502;
  i += 2;
  const st = parseFields(b, i, end, h, false);
  if (st !== PARSE_OK) return 502;
  const s = h.status;
  if (headRequest || s < 200 || s === 204 || s === 304) h.bodyKind = BODY_NONE;
  else if (h.bodyKind === BODY_NONE && h.contentLength < 0) h.bodyKind = BODY_CLOSE;
  if (h.bodyKind === BODY_CLOSE) h.keepAlive = false;
  return PARSE_OK;
}

/** Shared header-field pass; sets framing, connection semantics and the drop mask. */
function parseFields(b: Uint8Array, i: number, end: number, h: Head, isRequest: boolean): number {
  const hdr = h.hdr, drop = h.drop;
  let n = 0, cl = -1, te = false, teBad = false, connClose = false, connKeep = false, connUpgrade = false;
  let upgradeHdr = false, connIdx0 = -1, connCount = 0, keepAliveOnlyLines = 0, connNamesOther = false;
  h.hostIdx = -1; h.xffIdx = -1; h.xffCount = 0; h.anyDrop = false;
  while (i < end) {
    if (b[i] === CR) {
      if (b[i + 1] !== LF) return 400;
      i += 2;
      break;
    }
    if (n === MAX_HEADERS) return 431;
    const ls = i;
    while (TCHAR[b[i]] === 1) i++;
    if (i === ls || b[i] !== 58) return 400; // empty name, obs-fold, or whitespace before ':'
    const ne = i;
    i++;
    while (b[i] === SP || b[i] === HT) i++;
    const vs = i;
    while (VCHAR[b[i]] === 1) i++;
    if (b[i] !== CR || b[i + 1] !== LF) return 400;
    let ve = i;
    while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HT)) ve--;
    i += 2;
    const o = n * F;
    hdr[o] = ls; hdr[o + 1] = ne; hdr[o + 2] = vs; hdr[o + 3] = ve; hdr[o + 4] = i;
    let d = 0;
    const len = ne - ls, c0 = b[ls] | 0x20;
    if (len === 14 && c0 === 99 && eqLower(b, ls, ne, "content-length")) {
      const val = parseLength(b, vs, ve);
      if (val < 0 || (cl >= 0 && val !== cl)) return 400;
      if (cl >= 0) d = 1; // identical duplicate: forward one copy only
      cl = val;
    } else if (len === 17 && c0 === 116 && eqLower(b, ls, ne, "transfer-encoding")) {
      if (te || !endsWithChunked(b, vs, ve)) teBad = true;
      te = true;
    } else if (len === 10 && c0 === 99 && eqLower(b, ls, ne, "connection")) {
      d = 1;
      if (connCount++ === 0) connIdx0 = n;
      let onlyKeepAlive = vs < ve;
      for (let s = vs; s < ve;) {
        let e = s;
        while (e < ve && b[e] !== 44) e++;
        let ts = s, te2 = e;
        while (ts < te2 && (b[ts] === SP || b[ts] === HT)) ts++;
        while (te2 > ts && (b[te2 - 1] === SP || b[te2 - 1] === HT)) te2--;
        if (eqLower(b, ts, te2, "keep-alive")) connKeep = true;
        else {
          onlyKeepAlive = false;
          if (eqLower(b, ts, te2, "close")) connClose = true;
          else if (eqLower(b, ts, te2, "upgrade")) connUpgrade = true;
          else if (te2 > ts) connNamesOther = true;
        }
        s = e + 1;
      }
      if (onlyKeepAlive) keepAliveOnlyLines++;
    } else if (len === 4 && c0 === 104 && eqLower(b, ls, ne, "host")) {
      if (isRequest && h.hostIdx >= 0) return 400;
      h.hostIdx = n;
    } else if (len === 7 && c0 === 117 && eqLower(b, ls, ne, "upgrade")) {
      upgradeHdr = true;
    } else if (isHopByHop(b, ls, ne, len, c0)) {
      d = 1;
    } else if (isRequest && len === 15 && c0 === 120 && eqLower(b, ls, ne, "x-forwarded-for")) {
      // Re-emitted by the rewriter as one line (every line's list in order, then the client address).
      if (h.xffIdx < 0) h.xffIdx = n;
      h.xffCount++;
      d = 1;
    } else if (isRequest && len >= 16 && c0 === 120 &&
      (eqLower(b, ls, ne, "x-forwarded-proto") || eqLower(b, ls, ne, "x-forwarded-host"))) {
      d = 1; // set by the proxy, never trusted from the client
    }
    drop[n] = d;
    if (d) h.anyDrop = true;
    n++;
  }
  if (i !== end) return 400;
  h.count = n;
  h.end = end;
  if (te && cl >= 0) return 400;
  if (te && (teBad || (isRequest && h.versionMinor === 0))) return 400;
  h.contentLength = cl;
  h.bodyKind = te ? BODY_CHUNKED : cl > 0 ? BODY_LENGTH : BODY_NONE;
  h.keepAlive = h.versionMinor === 1 ? !connClose : connKeep && !connClose;
  h.upgrade = connUpgrade && upgradeHdr;
  if (upgradeHdr && !h.upgrade) markUpgradeDropped(b, h, n);
  // Only a token other than the three connection options names a header to drop (nginx sends just keep-alive).
  if (connNamesOther) markConnectionNamed(b, h, connIdx0);
  h.dropsOnlyKeepAlive = false;
  if (!isRequest && h.anyDrop && keepAliveOnlyLines === connCount) {
    let drops = 0;
    for (let k = 0; k < n; k++) drops += drop[k]!;
    h.dropsOnlyKeepAlive = drops === keepAliveOnlyLines;
  }
  return PARSE_OK;
}

function isHopByHop(b: Uint8Array, s: number, e: number, len: number, c0: number): boolean {
  switch (len) {
    case 2: return c0 === 116 && eqLower(b, s, e, "te");
    case 7: return c0 === 116 && eqLower(b, s, e, "trailer");
    case 10: return c0 === 107 && eqLower(b, s, e, "keep-alive");
    case 16: return c0 === 112 && eqLower(b, s, e, "proxy-connection");
    case 18: return c0 === 112 && eqLower(b, s, e, "proxy-authenticate");
    case 19: return c0 === 112 && eqLower(b, s, e, "proxy-authorization");
    default: return false;
  }
}

function markUpgradeDropped(b: Uint8Array, h: Head, n: number): void {
  for (let k = 0; k < n; k++) {
    const o = k * F;
    if (h.hdr[o + 1] - h.hdr[o] === 7 && eqLower(b, h.hdr[o], h.hdr[o + 1], "upgrade")) {
      h.drop[k] = 1; h.anyDrop = true;
    }
  }
}

/** Drop every header named in a Connection header (other than the three connection options). */
function markConnectionNamed(b: Uint8Array, h: Head, first: number): void {
  const hdr = h.hdr;
  for (let c = first; c < h.count; c++) {
    const co = c * F;
    if (!eqLower(b, hdr[co], hdr[co + 1], "connection")) continue;
    for (let s = hdr[co + 2]; s < hdr[co + 3];) {
      let e = s;
      while (e < hdr[co + 3] && b[e] !== 44) e++;
      let ts = s, te = e;
      while (ts < te && (b[ts] === SP || b[ts] === HT)) ts++;
      while (te > ts && (b[te - 1] === SP || b[te - 1] === HT)) te--;
      if (te > ts && !eqLower(b, ts, te, "close") && !eqLower(b, ts, te, "keep-alive") &&
        !eqLower(b, ts, te, "upgrade")) {
        for (let k = 0; k < h.count; k++) {
          const o = k * F;
          if (sameLower(b, hdr[o], hdr[o + 1], ts, te) && !isFraming(b, hdr[o], hdr[o + 1])) {
            h.drop[k] = 1; h.anyDrop = true;
          }
        }
      }
      s = e + 1;
    }
  }
}

/** Framing headers stay even when a client names them in Connection: dropping them would change framing. */
function isFraming(b: Uint8Array, s: number, e: number): boolean {
  return eqLower(b, s, e, "content-length") || eqLower(b, s, e, "transfer-encoding") || eqLower(b, s, e, "host");
}

function sameLower(b: Uint8Array, s1: number, e1: number, s2: number, e2: number): boolean {
  if (e1 - s1 !== e2 - s2) return false;
  for (let i = 0; i < e1 - s1; i++) if ((b[s1 + i] | 0x20) !== (b[s2 + i] | 0x20)) return false;
  return true;
}

/** Decimal Content-Length; -1 when empty, not all digits, or above 2^53. */
function parseLength(b: Uint8Array, s: number, e: number): number {
  if (s === e || e - s > 15) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Transfer-Encoding list must end with exactly one "chunked" (the only framing we forward). */
function endsWithChunked(b: Uint8Array, s: number, e: number): boolean {
  let chunkedSeen = 0, last = false;
  for (let p = s; p <= e;) {
    let q = p;
    while (q < e && b[q] !== 44) q++;
    let ts = p, te = q;
    while (ts < te && (b[ts] === SP || b[ts] === HT)) ts++;
    while (te > ts && (b[te - 1] === SP || b[te - 1] === HT)) te--;
    if (te === ts) return false;
    for (let k = ts; k < te; k++) if (TCHAR[b[k]] !== 1) return false;
    last = eqLower(b, ts, te, "chunked");
    if (last) chunkedSeen++;
    p = q + 1;
  }
  return last && chunkedSeen === 1;
}

/** Header value at index k as a latin1 string (for the pick context; not used on the forwarding path). */
export function headerValue(b: Buffer, h: Head, k: number): string {
  const o = k * F;
  return b.toString("latin1", h.hdr[o + 2], h.hdr[o + 3]);
}

/** Index of the first header named `lowerName`, or -1. */
export function findHeader(b: Uint8Array, h: Head, lowerName: string): number {
  for (let k = 0; k < h.count; k++) {
    const o = k * F;
    if (eqLower(b, h.hdr[o], h.hdr[o + 1], lowerName)) return k;
  }
  return -1;
}

export const FIELDS_PER_HEADER = F;
