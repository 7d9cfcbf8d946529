// The scaler worker's message handling (wired to its Port by workers/scaler.ts).
import type { WorkerModule } from "../runtime/worker.ts";

export function createScalerModule(): WorkerModule<{ t: string }, unknown> {
  return {
    start() {},
    handle(msg) {
      throw Object.assign(new Error(`unknown message ${msg.t}`), { code: "unknown_message" });
    },
  };
}
