// Bench worker: receives stats batches either msgpack-encoded or structured-cloned, counts records, acks each round.
import { decode } from "../../src/protocol/codec.ts";

let records = 0;
(globalThis as unknown as { onmessage: (e: MessageEvent) => void }).onmessage = (e: MessageEvent) => {
  const d = e.data as { kind: "msgpack"; body: Uint8Array } | { kind: "clone"; items: unknown[] } | { kind: "done" };
  if (d.kind === "msgpack") records += (decode<{ items: unknown[] }>(d.body).items).length;
  else if (d.kind === "clone") records += d.items.length;
  else {
    postMessage(records);
    records = 0;
  }
};
