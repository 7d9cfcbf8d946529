// What every worker does the same way: the Port, init/ping/crash handling, the ready handshake, and requests
// dispatched to one handler per tag (so each handler's return type is checked against the protocol's reply type).
// A subsystem supplies `start(state)` (run once the first init arrives), `reinit(state)`, `handle(msg)` for one-way
// messages and `requests` for the ones that are answered.
import type { CommonFromWorker, CommonToWorker, InitOf, RequestMap, RequestMessage } from "../protocol/common.ts";
import { createWorkerPort, type MessageEndpoint, type WorkerPort } from "../protocol/port.ts";

/** One handler per request tag; what it returns (or throws) is the reply. */
export type RequestHandlers<R extends RequestMap> = {
  readonly [K in keyof R & string]: (msg: { readonly t: K; readonly id: number } & R[K]["body"]) => R[K]["reply"] | Promise<R[K]["reply"]>;
};

/** What a worker receives: its one-way messages, its requests, and the common ones. */
export type WorkerInbound<ToWorker, Requests extends RequestMap> = ToWorker | RequestMessage<Requests> | CommonToWorker | { readonly t: "ping"; readonly id: number };

export type ModulePort<ToWorker, FromWorker, Requests extends RequestMap> = WorkerPort<WorkerInbound<ToWorker, Requests>, FromWorker | CommonFromWorker>;

export interface WorkerModule<ToWorker extends { readonly t: string }, FromWorker, Requests extends RequestMap> {
  /** First full state; resolve when the worker is ready to serve. */
  start(state: InitOf<ToWorker>, port: ModulePort<ToWorker, FromWorker, Requests>): Promise<void> | void;
  /** Later full states (config reload): reconcile to them. */
  reinit?(state: InitOf<ToWorker>): Promise<void> | void;
  /** A one-way message; throwing here is logged through the supervisor. */
  handle(msg: Exclude<ToWorker, { t: "init" }>): Promise<void> | void;
  /** Requests: throwing here becomes an error reply tied to the request id. */
  readonly requests: RequestHandlers<Requests>;
  /** Graceful stop, bounded by the supervisor. */
  stop?(): Promise<void> | void;
}

export function runWorker<ToWorker extends { readonly t: string }, FromWorker, Requests extends RequestMap>(mod: WorkerModule<ToWorker, FromWorker, Requests>): void {
  const port: ModulePort<ToWorker, FromWorker, Requests> = createWorkerPort(globalThis as unknown as MessageEndpoint);
  const handlers = mod.requests as Record<string, ((msg: unknown) => unknown) | undefined>;
  let started = false;
  port.onClose(async () => {
    await mod.stop?.();
  });
  port.onMessage(async function onMessage(msg) {
    const id = "id" in msg && typeof msg.id === "number" ? msg.id : undefined;
    try {
      if (msg.t === "init") {
        const state = (msg as unknown as { state: InitOf<ToWorker> }).state;
        if (!started) {
          started = true;
          await mod.start(state, port);
          port.ready();
        } else {
          await mod.reinit?.(state);
        }
        return;
      }
      if (msg.t === "crash") {
        // Fault injection: an uncaught error kills this worker so the supervisor's restart path runs.
        const reason = (msg as unknown as CommonToWorker).reason;
        setTimeout(() => {
          throw new Error(`crash requested: ${reason}`);
        });
        return;
      }
      if (id !== undefined) {
        if (msg.t === "ping") return port.reply(id, { pong: true });
        const handler = Object.hasOwn(handlers, msg.t) ? handlers[msg.t] : undefined;
        if (!handler) return port.replyError(id, "unknown_request", `this worker has no request ${msg.t}`);
        port.reply(id, (await handler(msg)) ?? null);
        return;
      }
      await mod.handle(msg as Exclude<ToWorker, { t: "init" }>);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (id !== undefined) port.replyError(id, err.code ?? "error", err.message ?? String(e));
      else port.send({ t: "log", level: "error", msg: `${msg.t} failed: ${err.message ?? String(e)}` });
    }
  });
}
