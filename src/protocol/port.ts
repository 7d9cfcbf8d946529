// A typed, msgpack-encoded Port over a Worker (parent side) or the worker's global scope (worker side),
// with request/reply correlation by id and batching of high-rate messages.
//
// Lifecycle (parent side): created -> ready (worker sent READY) -> closed. close() is idempotent.
import { decode, encode } from "./codec.ts";
import type { Reply } from "./common.ts";
import { CLOSE, DATA, type FromWorkerEnvelope, READY, REQUEST, type ToWorkerEnvelope } from "./envelope.ts";

export interface MessageEndpoint {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
}

export class RequestError extends Error {
  readonly _tag = "RequestError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type WithId = { readonly id: number };

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** The request/reply bookkeeping shared by both sides. */
function createCorrelator() {
  let nextId = 1;
  const pending = new Map<number, Pending>();
  return {
    nextId: () => nextId++,
    wait(id: number, timeoutMs: number, what: string): Promise<unknown> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new RequestError("timeout", `${what} got no reply within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
      });
    },
    /** Returns true when the message was a reply this side was waiting for. */
    settle(msg: { t?: unknown }): boolean {
      if (msg.t !== "reply") return false;
      const r = msg as Reply;
      const p = pending.get(r.id);
      if (!p) return true;
      pending.delete(r.id);
      clearTimeout(p.timer);
      if (r.ok) p.resolve(r.value);
      else p.reject(new RequestError(r.error.code, r.error.message));
      return true;
    },
    failAll(why: string) {
      for (const [id, p] of pending) {
        clearTimeout(p.timer);
        p.reject(new RequestError("closed", why));
        pending.delete(id);
      }
    },
  };
}

export interface ParentPort<In, Out> {
  /** Resolves when the worker said READY. */
  readonly ready: Promise<void>;
  send(msg: Out): void;
  request<R = unknown>(msg: Omit<Out & WithId, "id"> & { t: string }, timeoutMs?: number): Promise<R>;
  onMessage(handler: (msg: In) => void): void;
  /** Ask the worker to finish; pending requests fail. */
  close(): void;
}

/** Parent side: wraps a Worker. Messages the worker batched are delivered one by one. */
export function createParentPort<In, Out>(worker: MessageEndpoint): ParentPort<In, Out> {
  const corr = createCorrelator();
  let handler: (msg: In) => void = () => {};
  let closed = false;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  worker.addEventListener("message", function onParentMessage(event: MessageEvent) {
    const env = event.data as FromWorkerEnvelope;
    if (!Array.isArray(env)) return;
    if (env[0] === READY) return markReady();
    if (env[0] !== DATA) return;
    const msg = decode<{ t?: unknown; items?: unknown[] }>(env[1]);
    if (corr.settle(msg)) return;
    if (msg.t === "batch" && Array.isArray(msg.items)) for (const item of msg.items) handler(item as In);
    else handler(msg as In);
  });
  return {
    ready,
    send(msg) {
      if (closed) return;
      const body = encode(msg);
      worker.postMessage([REQUEST, body] satisfies ToWorkerEnvelope, [body.buffer as ArrayBuffer]);
    },
    request(msg, timeoutMs = 5000) {
      if (closed) return Promise.reject(new RequestError("closed", "port is closed"));
      const id = corr.nextId();
      const p = corr.wait(id, timeoutMs, `request ${msg.t}`);
      this.send({ ...msg, id } as unknown as Out);
      return p as Promise<never>;
    },
    onMessage(h) {
      handler = h;
    },
    close() {
      if (closed) return;
      worker.postMessage([CLOSE] satisfies ToWorkerEnvelope);
      closed = true;
      corr.failAll("port closed");
    },
  };
}

export interface WorkerPort<In, Out> {
  /** Tell the parent init is done. */
  ready(): void;
  send(msg: Out): void;
  /** Queue a high-rate message; queued messages go out together every flush interval. */
  queue(msg: Out): void;
  flush(): void;
  reply(id: number, value: unknown): void;
  replyError(id: number, code: string, message: string): void;
  onMessage(handler: (msg: In) => void): void;
  /** Called once when the parent sends CLOSE. */
  onClose(handler: () => void | Promise<void>): void;
}

export interface WorkerPortOptions {
  /** How often queued messages are flushed (stats are per second, so a fraction of that). */
  flushIntervalMs?: number;
  /** Flush early once this many messages are queued. */
  maxBatch?: number;
}

/** Worker side: wraps the worker's global scope. */
export function createWorkerPort<In, Out>(scope: MessageEndpoint, opts: WorkerPortOptions = {}): WorkerPort<In, Out> {
  const maxBatch = opts.maxBatch ?? 512;
  let handler: (msg: In) => void = () => {};
  let closeHandler: () => void | Promise<void> = () => {};
  let queued: Out[] = [];
  const post = (msg: unknown) => {
    const body = encode(msg);
    scope.postMessage([DATA, body] satisfies FromWorkerEnvelope, [body.buffer as ArrayBuffer]);
  };
  const port: WorkerPort<In, Out> = {
    ready: () => scope.postMessage([READY] satisfies FromWorkerEnvelope),
    send: post,
    queue(msg) {
      queued.push(msg);
      if (queued.length >= maxBatch) port.flush();
    },
    flush() {
      if (queued.length === 0) return;
      const items = queued;
      queued = [];
      post({ t: "batch", items });
    },
    reply: (id, value) => post({ t: "reply", id, ok: true, value } satisfies Reply),
    replyError: (id, code, message) => post({ t: "reply", id, ok: false, error: { code, message } } satisfies Reply),
    onMessage(h) {
      handler = h;
    },
    onClose(h) {
      closeHandler = h;
    },
  };
  const timer = setInterval(port.flush, opts.flushIntervalMs ?? 250);
  (timer as unknown as { unref?: () => void }).unref?.();
  scope.addEventListener("message", function onWorkerMessage(event: MessageEvent) {
    const env = event.data as ToWorkerEnvelope;
    if (!Array.isArray(env)) return;
    if (env[0] === CLOSE) {
      clearInterval(timer);
      port.flush();
      void Promise.resolve()
        .then(closeHandler)
        .finally(() => process.exit(0));
      return;
    }
    if (env[0] === REQUEST) handler(decode<In>(env[1]));
  });
  return port;
}
