// What every worker does the same way: the Port, init/ping/crash handling, and the ready handshake.
// A subsystem supplies `start(state)` (run once the first init arrives), `reinit(state)` and `handle(msg)`.
import type { CommonFromWorker, CommonToWorker } from "../protocol/common.ts";
import { createWorkerPort, type MessageEndpoint, type WorkerPort } from "../protocol/port.ts";

export interface WorkerModule<In, Out> {
  /** First full state; resolve when the worker is ready to serve. */
  start(state: unknown, port: WorkerPort<In | CommonToWorker, Out | CommonFromWorker>): Promise<void> | void;
  /** Later full states (config reload): reconcile to them. */
  reinit?(state: unknown): Promise<void> | void;
  /** A subsystem message; throwing here becomes an error reply when the message had an id. */
  handle(msg: In): Promise<unknown> | unknown;
  /** Graceful stop, bounded by the supervisor. */
  stop?(): Promise<void> | void;
}

export function runWorker<In extends { t: string }, Out>(mod: WorkerModule<In, Out>): void {
  const port = createWorkerPort<In | CommonToWorker, Out | CommonFromWorker>(globalThis as unknown as MessageEndpoint);
  let started = false;
  port.onClose(async () => {
    await mod.stop?.();
  });
  port.onMessage(async function onMessage(msg) {
    const id = (msg as { id?: number }).id;
    try {
      switch (msg.t) {
        case "init":
          if (!started) {
            started = true;
            await mod.start((msg as { state: unknown }).state, port);
            port.ready();
          } else {
            await mod.reinit?.((msg as { state: unknown }).state);
          }
          return;
        case "ping":
          port.reply(id!, { pong: true });
          return;
        case "crash":
          // Fault injection: an uncaught error kills this worker so the supervisor's restart path runs.
          setTimeout(() => {
            throw new Error(`crash requested: ${(msg as { reason: string }).reason}`);
          });
          return;
        default: {
          const value = await mod.handle(msg as In);
          if (typeof id === "number") port.reply(id, value ?? null);
        }
      }
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (typeof id === "number") port.replyError(id, err.code ?? "error", err.message ?? String(e));
      else port.send({ t: "log", level: "error", msg: `${msg.t} failed: ${err.message ?? String(e)}` });
    }
  });
}
