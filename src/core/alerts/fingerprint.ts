// An alert's identity: a 64-bit hash (two FNV-1a 32 passes with different seeds) of its sorted label set, as hex.
// Equal label sets give equal fingerprints whatever their order; that is what deduplication keys on.
import { fnv1a32 } from "../hashing/hash.ts";

export function fingerprintOf(labels: Readonly<Record<string, string>>): string {
  // JSON of the sorted pairs: unambiguous whatever characters the labels hold.
  const text = JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
  const hi = fnv1a32(text, 0x811c9dc5) >>> 0;
  const lo = fnv1a32(text, 0x050c5d1f) >>> 0;
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

/** The full label set of an input: its labels plus alertname and severity. */
export function labelsOf(input: { name: string; severity: string; labels: Readonly<Record<string, string>> }): Record<string, string> {
  return { ...input.labels, alertname: input.name, severity: input.severity };
}
