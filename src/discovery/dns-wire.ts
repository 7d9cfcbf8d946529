// Assembles a response from a dns-packet encoding of its records and the query's own question bytes, compressing owner names.
//
// dns-packet writes every name in full. Nearly every record here is owned by the question's
// name, so replacing that owner with a pointer to the question (offset 12) shrinks an A record
// from 14 + name bytes to 16 and lets roughly twice as many fit in 512 bytes before truncation.
// Other names (SRV targets, the SOA) stay uncompressed. This is hand-written because dns-packet has no name
// compression at all: it changes what fits in a UDP answer, not only its cost.

const HEADER = 12;
const POINTER_TO_QUESTION = [0xc0, 0x0c] as const;

/**
 * `body`: a dns-packet encoding with no question; `question`: the query's raw question
 * (name, type, class). Returns header + question + records, with qdcount 1.
 */
export function spliceQuestion(body: Buffer, question: Uint8Array): Buffer {
  const nameLen = question.length - 4;
  const out = Buffer.alloc(body.length + question.length);
  body.copy(out, 0, 0, HEADER);
  out[4] = 0;
  out[5] = 1;
  out.set(question, HEADER);
  let w = HEADER + question.length;
  let r = HEADER;
  const records = body.readUInt16BE(6) + body.readUInt16BE(8) + body.readUInt16BE(10);
  for (let i = 0; i < records; i++) {
    const nameEnd = skipUncompressedName(body, r);
    // A pointer is 2 bytes: only worth it for names longer than that (never for the root).
    if (nameLen > 2 && nameEnd - r === nameLen && sameNameIgnoringCase(body, r, question, nameLen)) {
      out[w++] = POINTER_TO_QUESTION[0];
      out[w++] = POINTER_TO_QUESTION[1];
    } else {
      w += body.copy(out, w, r, nameEnd);
    }
    const end = nameEnd + 10 + body.readUInt16BE(nameEnd + 8);
    w += body.copy(out, w, nameEnd, end);
    r = end;
  }
  return out.subarray(0, w);
}

function skipUncompressedName(buf: Buffer, off: number): number {
  while (buf[off] !== 0) off += buf[off] + 1;
  return off + 1;
}

function sameNameIgnoringCase(buf: Buffer, off: number, question: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) {
    let a = buf[off + i];
    let b = question[i];
    if (a >= 0x41 && a <= 0x5a) a |= 0x20;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (a !== b) return false;
  }
  return true;
}
