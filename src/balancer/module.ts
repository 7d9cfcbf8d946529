// The balancer worker's message handling (wired to its Port by workers/balancer.ts).
import type { WorkerModule } from "../runtime/worker.ts";

export function createBalancerModule(): WorkerModule<{ t: string }, unknown> {
  return {
    start() {},
    handle(msg) {
      throw Object.assign(new Error(`unknown message ${msg.t}`), { code: "unknown_message" });
    },
  };
}
