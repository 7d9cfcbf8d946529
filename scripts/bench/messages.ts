// Supervisor<->worker throughput: batched msgpack stats messages vs structured-clone postMessage of the same objects.
// Usage: bun scripts/bench/messages.ts [--records 200000] [--batch 100] [--rounds 5]
import { encode } from "../../src/protocol/codec.ts";

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const RECORDS = arg("--records", 200_000);
const BATCH = arg("--batch", 100);
const ROUNDS = arg("--rounds", 5);

// The shape the procs worker sends once a second per replica (ReplicaStats).
const stat = (i: number) => ({ app: "web", id: i % 16, pid: 1000 + (i % 16), cpuPercent: (i % 97) / 3, rssBytes: 50_000_000 + i, processes: 1 + (i % 3) });
const batches = Array.from({ length: Math.ceil(RECORDS / BATCH) }, (_, b) => Array.from({ length: BATCH }, (_, i) => stat(b * BATCH + i)));

const worker = new Worker(new URL("./messages-worker.ts", import.meta.url).href);
const roundTrip = (send: () => void) =>
  new Promise<number>((resolve) => {
    const t0 = performance.now();
    worker.onmessage = (e) => {
      if (e.data !== RECORDS && e.data !== batches.length * BATCH) throw new Error(`worker counted ${e.data}`);
      resolve(performance.now() - t0);
    };
    send();
    worker.postMessage({ kind: "done" });
  });

const viaMsgpack = () =>
  roundTrip(() => {
    for (const items of batches) {
      const body = encode({ t: "batch", items });
      worker.postMessage({ kind: "msgpack", body }, [body.buffer as ArrayBuffer]);
    }
  });
const viaClone = () => roundTrip(() => {
  for (const items of batches) worker.postMessage({ kind: "clone", items });
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
await viaMsgpack();
await viaClone(); // warm-up both paths
const mp: number[] = [];
const cl: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  mp.push(await viaMsgpack());
  cl.push(await viaClone());
}
const total = batches.length * BATCH;
const mpRate = total / (median(mp) / 1000);
const clRate = total / (median(cl) / 1000);
const bytesMp = encode({ t: "batch", items: batches[0] }).byteLength;
const bytesJson = Buffer.byteLength(JSON.stringify({ t: "batch", items: batches[0] }));
console.log(JSON.stringify({
  records: total,
  batch: BATCH,
  msgpack_records_per_s: Math.round(mpRate),
  clone_records_per_s: Math.round(clRate),
  ratio_msgpack_vs_clone: +(mpRate / clRate).toFixed(2),
  msgpack_batch_bytes: bytesMp,
  json_batch_bytes: bytesJson,
}, null, 2));
worker.terminate();
