// Runs one worker thread: spawn, ready handshake, full state on every (re)start, restart with backoff, bounded stop.
//
//   starting --ready--> running --exit/error--> restarting --(backoff)--> starting
//      |                   |
//      +------stop()-------+--> stopping --closed or bound--> stopped     (stop is idempotent; stop before start is fine)
import type { CommonFromWorker, CommonToWorker } from "../protocol/common.ts";
import { createParentPort, type MessageEndpoint, type ParentPort } from "../protocol/port.ts";

export type WorkerState = "starting" | "running" | "restarting" | "stopping" | "stopped";

export interface WorkerInfo {
  readonly name: string;
  readonly state: WorkerState;
  readonly restarts: number;
  readonly startedAt: number | undefined;
  readonly lastError: string | undefined;
}

export interface WorkerHostOptions<In, Out> {
  name: string;
  specifier: string;
  /** The full current state, fetched at every start so a restarted worker reconciles. */
  state: () => unknown;
  onMessage: (msg: In | CommonFromWorker) => void;
  onStateChange?: (info: WorkerInfo, why: string) => void;
  /** A worker that does not say ready in this time is killed and restarted. */
  readyTimeoutMs?: number;
  /** Backoff between restarts: doubles from min to max; reset after the worker stayed up `stableMs`. */
  backoff?: { minMs: number; maxMs: number; stableMs: number };
}

export interface WorkerHost<Out> {
  readonly name: string;
  start(): Promise<void>;
  send(msg: Out | CommonToWorker): void;
  request<R>(msg: { t: string } & Record<string, unknown>, timeoutMs?: number): Promise<R>;
  info(): WorkerInfo;
  stop(timeoutMs: number): Promise<void>;
}

export function createWorkerHost<In, Out>(opts: WorkerHostOptions<In, Out>): WorkerHost<Out> {
  const backoff = opts.backoff ?? { minMs: 100, maxMs: 5000, stableMs: 30_000 };
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15_000;
  let worker: Worker | undefined;
  let port: ParentPort<In | CommonFromWorker, Out | CommonToWorker> | undefined;
  let state: WorkerState = "stopped";
  let restarts = 0;
  let startedAt: number | undefined;
  let lastError: string | undefined;
  let delay = backoff.minMs;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;
  let stopping = false;
  let closedResolve: (() => void) | undefined;

  const info = (): WorkerInfo => ({ name: opts.name, state, restarts, startedAt, lastError });
  const setState = (s: WorkerState, why: string) => {
    state = s;
    opts.onStateChange?.(info(), why);
  };

  const spawn = (): Promise<void> => {
    const gen = ++generation;
    setState("starting", restarts === 0 ? "start" : "restart");
    const w = new Worker(opts.specifier, { name: opts.name } as WorkerOptions);
    worker = w;
    const p = createParentPort<In | CommonFromWorker, Out | CommonToWorker>(w as unknown as MessageEndpoint);
    port = p;
    p.onMessage(opts.onMessage);
    w.addEventListener("error", (e) => {
      lastError = (e as ErrorEvent).message ?? String(e);
    });
    w.addEventListener("close", (e) => {
      if (gen !== generation) return;
      const code = (e as unknown as { code?: number }).code ?? 0;
      port = undefined;
      worker = undefined;
      if (stopping) {
        setState("stopped", "closed");
        closedResolve?.();
        return;
      }
      lastError = lastError ?? `exited with code ${code}`;
      const upFor = startedAt === undefined ? 0 : Date.now() - startedAt;
      if (upFor >= backoff.stableMs) delay = backoff.minMs;
      restarts++;
      setState("restarting", `exited (code ${code}): ${lastError}; restarting in ${delay} ms`);
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (!stopping) void spawn().catch(() => {});
      }, delay);
      delay = Math.min(backoff.maxMs, delay * 2);
    });
    p.send({ t: "init", state: opts.state() });
    let readyTimer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      p.ready.then(() => {
        if (gen !== generation || stopping) return;
        startedAt = Date.now();
        setState("running", "ready");
      }),
      new Promise<void>((_, reject) => {
        readyTimer = setTimeout(() => {
          if (gen !== generation) return;
          lastError = `did not say ready within ${readyTimeoutMs} ms`;
          w.terminate();
          reject(new Error(`${opts.name}: ${lastError}`));
        }, readyTimeoutMs);
      }),
    ]).finally(() => clearTimeout(readyTimer));
  };

  return {
    name: opts.name,
    start: () => {
      stopping = false;
      return spawn();
    },
    send(msg) {
      port?.send(msg);
    },
    request<R>(msg: { t: string } & Record<string, unknown>, timeoutMs?: number) {
      if (!port) return Promise.reject(new Error(`${opts.name} worker is ${state}`));
      return port.request<R>(msg as never, timeoutMs);
    },
    info,
    async stop(timeoutMs) {
      if (stopping && state === "stopped") return;
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const w = worker;
      if (!w) {
        setState("stopped", "stop");
        return;
      }
      setState("stopping", "stop");
      const closed = new Promise<void>((r) => (closedResolve = r));
      port?.close();
      const timer = setTimeout(() => w.terminate(), timeoutMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
