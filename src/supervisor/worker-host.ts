// Runs one worker thread: spawn, ready handshake, full state on every (re)start, restarts decided by the same
// restart policy as replicas (backoff with jitter and a crash-loop budget), bounded stop.
//
//   starting --ready--> running --exit/error--> restarting --(backoff, or crash-loop cooldown)--> starting
//      |                   |
//      +------stop()-------+--> stopping --closed or bound--> stopped
// stop is idempotent and re-entrant (every caller waits for the same close); stop before start is fine.
import { type BackoffOptions } from "../core/supervision/backoff.ts";
import type { CrashLoopOptions } from "../core/supervision/crash-loop.ts";
import { decide, initialRestartState, type RestartState } from "../core/supervision/restart-policy.ts";
import { type Rng, systemRng } from "../core/time.ts";
import type { CommonToWorker, InitOf, RequestInput, RequestMap, RequestMessage, WorkerLog } from "../protocol/common.ts";
import { createParentPort, type MessageEndpoint, type ParentPort, RequestError } from "../protocol/port.ts";

export type WorkerState = "starting" | "running" | "restarting" | "stopping" | "stopped";

export interface WorkerInfo {
  readonly name: string;
  readonly state: WorkerState;
  readonly restarts: number;
  readonly startedAt: number | undefined;
  readonly lastError: string | undefined;
}

/** A worker's restart schedule: a worker that keeps dying is a crash loop, restarted only after a cooldown. */
export const WORKER_BACKOFF: BackoffOptions = { initialMs: 100, factor: 2, capMs: 5000, jitter: "decorrelated", stableMs: 30_000, immediateFirst: false };
// No readiness is reported with a worker exit, so every restart of a worker counts (min uptime does not apply).
export const WORKER_CRASH_LOOP: CrashLoopOptions = { maxRestarts: 10, windowMs: 60_000, cooldownMs: 60_000, minUptimeMs: 0 };

export interface WorkerHostOptions<ToWorker extends { readonly t: string }, FromWorker> {
  name: string;
  specifier: string;
  /** The full current state, fetched at every start so a restarted worker reconciles. */
  state: () => InitOf<ToWorker>;
  onMessage: (msg: FromWorker | WorkerLog) => void;
  onStateChange?: (info: WorkerInfo, why: string) => void;
  /** A worker that does not say ready in this time is killed and restarted. */
  readyTimeoutMs?: number;
  restart?: { backoff: BackoffOptions; crashLoop: CrashLoopOptions };
  rng?: Rng;
  /** Wall-clock ms (crash-loop window and cooldown). */
  now?: () => number;
}

/** What every host offers whatever its protocol: lifecycle, state, and the messages every worker understands. */
export interface WorkerControl {
  readonly name: string;
  start(): Promise<void>;
  send(msg: CommonToWorker): void;
  info(): WorkerInfo;
  stop(timeoutMs: number): Promise<void>;
}

export interface WorkerHost<ToWorker extends { readonly t: string }, FromWorker, Requests extends RequestMap> extends WorkerControl {
  send(msg: ToWorker | CommonToWorker): void;
  /** A request by tag; its reply type is the protocol's for that tag. Rejects at once when the worker is not up. */
  request<K extends keyof Requests & string>(msg: RequestInput<Requests, K>, timeoutMs?: number): Promise<Requests[K]["reply"]>;
}

export function createWorkerHost<ToWorker extends { readonly t: string }, FromWorker, Requests extends RequestMap>(
  opts: WorkerHostOptions<ToWorker, FromWorker>,
): WorkerHost<ToWorker, FromWorker, Requests> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15_000;
  const rng = opts.rng ?? systemRng;
  const now = opts.now ?? Date.now;
  let policy: RestartState = initialRestartState({ mode: "always", backoff: opts.restart?.backoff ?? WORKER_BACKOFF, crashLoop: opts.restart?.crashLoop ?? WORKER_CRASH_LOOP });
  let worker: Worker | undefined;
  let port: ParentPort<FromWorker | WorkerLog, ToWorker | CommonToWorker | RequestMessage<Requests>> | undefined;
  let state: WorkerState = "stopped";
  let restarts = 0;
  let startedAt: number | undefined;
  let lastError: string | undefined;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  let closedResolve: (() => void) | undefined;

  const info = (): WorkerInfo => ({ name: opts.name, state, restarts, startedAt, lastError });
  const setState = (s: WorkerState, why: string) => {
    state = s;
    opts.onStateChange?.(info(), why);
  };

  const scheduleRestart = (code: number) => {
    const upMs = startedAt === undefined ? 0 : now() - startedAt;
    const d = decide(policy, { type: "exited", code, signal: null, upMs }, now(), rng);
    policy = d.next;
    restarts++;
    const what = d.action === "crash-loop" ? `in a crash loop (${d.reason}); restarting after the ${Math.round(d.delayMs / 1000)} s cooldown` : `restarting in ${d.delayMs} ms`;
    setState("restarting", `exited (code ${code}): ${lastError}; ${what}`);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (d.action === "crash-loop") policy = decide(policy, { type: "cooldown-check" }, now(), rng).next;
      if (!stopping) void spawn().catch(() => {});
    }, d.delayMs);
  };

  const spawn = (): Promise<void> => {
    const gen = ++generation;
    setState("starting", restarts === 0 ? "start" : "restart");
    const w = new Worker(opts.specifier, { name: opts.name } as WorkerOptions);
    worker = w;
    const p = createParentPort<FromWorker | WorkerLog, ToWorker | CommonToWorker | RequestMessage<Requests>>(w as unknown as MessageEndpoint);
    port = p;
    p.onMessage(opts.onMessage);
    // The error of this run only, so each restart names its own cause; lastError keeps the latest for the status.
    let runError: string | undefined;
    w.addEventListener("error", (e) => {
      runError = (e as ErrorEvent).message ?? String(e);
      lastError = runError;
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
      lastError = runError ?? `exited with code ${code}`;
      scheduleRestart(code);
    });
    // Every kind's inbound union carries its init message; InitOf ties the state to it.
    p.send({ t: "init", state: opts.state() } as unknown as ToWorker);
    let readyTimer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      p.ready.then(() => {
        if (gen !== generation || stopping) return;
        startedAt = now();
        setState("running", "ready");
      }),
      new Promise<void>((_, reject) => {
        readyTimer = setTimeout(() => {
          if (gen !== generation) return;
          runError = `did not say ready within ${readyTimeoutMs} ms`;
          lastError = runError;
          w.terminate();
          reject(new Error(`${opts.name}: ${lastError}`));
        }, readyTimeoutMs);
      }),
    ]).finally(() => clearTimeout(readyTimer));
  };

  const stopNow = async (timeoutMs: number) => {
    stopping = true;
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = undefined;
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
  };

  return {
    name: opts.name,
    start: () => {
      stopping = false;
      stopped = undefined;
      return spawn();
    },
    send(msg) {
      port?.send(msg);
    },
    request(msg, timeoutMs) {
      if (!port) return Promise.reject(new RequestError("unavailable", `${opts.name} worker is ${state}`));
      return port.request(msg as never, timeoutMs);
    },
    info,
    stop(timeoutMs) {
      stopped ??= stopNow(timeoutMs);
      return stopped;
    },
  };
}
