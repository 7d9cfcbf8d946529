// The procs worker's message handling (wired to its Port by workers/procs.ts).
import type { WorkerModule } from "../runtime/worker.ts";

export function createProcsModule(): WorkerModule<{ t: string }, unknown> {
  return {
    start() {},
    handle(msg) {
      throw Object.assign(new Error(`unknown message ${msg.t}`), { code: "unknown_message" });
    },
  };
}
