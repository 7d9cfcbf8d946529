// The one msgpack codec for messages between threads: records for repeated shapes, nothing shared implicitly.
import { Packr } from "msgpackr";

// Structures are declared inline in each message (no shared structure table), so both sides always agree
// even after a worker restarts; batches of same-shaped records still pack compactly as records.
const packr = new Packr({ useRecords: true, moreTypes: false, bundleStrings: false });

/** Encode a message; the result is a fresh copy, safe to transfer. */
export function encode(message: unknown): Uint8Array {
  // pack() returns a view into a reused buffer (a Buffer, whose slice() is also a view): copy into a
  // fresh ArrayBuffer of exactly this size before handing it to another thread.
  const packed = packr.pack(message);
  const out = new Uint8Array(packed.length);
  out.set(packed);
  return out;
}

export function decode<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}
