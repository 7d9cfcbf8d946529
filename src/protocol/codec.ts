// The one msgpack codec for messages between threads, with a frozen table of shared structures.
import { Packr } from "msgpackr";

/**
 * Key orders of the high-rate records, shared by every thread. The table is static and frozen
 * (maxSharedStructures = its length), so both sides always agree, even after a worker restarts;
 * any other shape is packed as an inline record. Append only: reordering changes the wire format.
 */
export const SHARED_STRUCTURES: readonly (readonly string[])[] = Object.freeze([
  // procs.stats items (ReplicaStats)
  ["app", "id", "pid", "cpuPercent", "rssBytes", "processes"],
  // health.result
  ["t", "checkId", "status", "latencyMs"],
  // scaler.samples items (MetricSample)
  ["app", "replica", "metric", "value", "at"],
  // balancer stats snapshots (StatsSnapshot) and their latency summary
  ["requests", "responses", "errors", "retries", "bytesIn", "bytesOut", "active", "latency", "buckets", "sumUs"],
  ["count", "meanMs", "p50Ms", "p95Ms", "p99Ms"],
  // the envelope of queued messages
  ["t", "items"],
]);

function createPackr(): Packr {
  return new Packr({
    structures: SHARED_STRUCTURES.map((s) => [...s]),
    maxSharedStructures: SHARED_STRUCTURES.length,
    useRecords: true,
    moreTypes: false,
    bundleStrings: false,
  });
}

const packr = createPackr();

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
