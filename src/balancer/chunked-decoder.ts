// Streaming validator for chunked transfer coding: finds where a chunked body ends without buffering it.
//
// The proxy forwards chunked bodies byte for byte; this only tracks framing so it knows where the
// message ends and refuses malformed framing (bad hex, missing CRLF, bare LF, control bytes in
// extensions, oversized trailers) before those bytes reach the other side.

const S_SIZE = 0, S_EXT = 1, S_SIZE_LF = 2, S_DATA = 3, S_DATA_CR = 4, S_DATA_LF = 5;
const S_TRAILER = 6, S_TRAILER_LINE = 7, S_TRAILER_LF = 8, S_END_LF = 9, S_DONE = 10;

/** 13 hex digits keep sizes below 2^52, where a double still counts every byte exactly. */
const MAX_SIZE_DIGITS = 13;
/**
 * Chunk extensions are framing metadata nobody we forward to needs in bulk; an unbounded one lets a peer stream
 * data past every body check (a 50 MiB extension was forwarded before this bound).
 */
export const MAX_EXTENSION_BYTES = 4 * 1024;
/** Trailers are headers too: same bound as the head limit keeps a peer from streaming them forever. */
const MAX_TRAILER_BYTES = 16 * 1024;

export const CHUNKED_ERROR = -1;

export class ChunkedDecoder {
  private state = S_SIZE;
  private size = 0;
  private digits = 0;
  private trailerBytes = 0;
  private extBytes = 0;

  get done(): boolean {
    return this.state === S_DONE;
  }

  reset(): void {
    this.state = S_SIZE; this.size = 0; this.digits = 0; this.trailerBytes = 0; this.extBytes = 0;
  }

  /**
   * Consume b[s..e). Returns the index just past the body's last byte when the body ends inside
   * this range, `e` when all of it belongs to the body and more is needed, or CHUNKED_ERROR.
   */
  feed(b: Uint8Array, s: number, e: number): number {
    let i = s;
    let st = this.state;
    while (i < e) {
      const c = b[i];
      switch (st) {
        case S_DATA: {
          const take = Math.min(this.size, e - i);
          this.size -= take;
          i += take;
          if (this.size === 0) st = S_DATA_CR;
          continue;
        }
        case S_SIZE: {
          const d = hexValue(c);
          if (d >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) return this.fail();
            this.size = this.size * 16 + d;
          } else if (this.digits === 0) return this.fail();
          else if (c === 59) {
            st = S_EXT;
            this.extBytes = 0;
          }
          else if (c === 13) st = S_SIZE_LF;
          else return this.fail();
          break;
        }
        case S_EXT:
          if (++this.extBytes > MAX_EXTENSION_BYTES) return this.fail();
          if (c === 13) st = S_SIZE_LF;
          else if (c !== 9 && (c < 32 || c === 127)) return this.fail();
          break;
        case S_SIZE_LF:
          if (c !== 10) return this.fail();
          st = this.size === 0 ? S_TRAILER : S_DATA;
          this.digits = 0;
          break;
        case S_DATA_CR:
          if (c !== 13) return this.fail();
          st = S_DATA_LF;
          break;
        case S_DATA_LF:
          if (c !== 10) return this.fail();
          st = S_SIZE;
          break;
        case S_TRAILER:
          if (c === 13) st = S_END_LF;
          else if (c === 32 || c === 9 || c < 32 || c === 58) return this.fail();
          else st = S_TRAILER_LINE;
          break;
        case S_TRAILER_LINE:
          if (++this.trailerBytes > MAX_TRAILER_BYTES) return this.fail();
          if (c === 13) st = S_TRAILER_LF;
          else if (c !== 9 && (c < 32 || c === 127)) return this.fail();
          break;
        case S_TRAILER_LF:
          if (c !== 10) return this.fail();
          st = S_TRAILER;
          break;
        case S_END_LF:
          if (c !== 10) return this.fail();
          this.state = S_DONE;
          return i + 1;
        default:
          return this.fail();
      }
      i++;
    }
    this.state = st;
    return e;
  }

  private fail(): number {
    this.state = S_DONE + 1;
    return CHUNKED_ERROR;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}
