// Hitless restart and upgrade: a successor agent takes the replicas and the listeners over from the running one
// (the incumbent) over the control socket <data_dir>/agent.sock. See src/protocol/takeover.ts for the exchange and
// docs/reliability.md for what is handed over how.
//
// Incumbent:  serving --takeover--> released --ready--> retiring (drains, exits; replicas keep running)
//                                      |
//                                      +--abort / socket closed / deadline--> serving (takes everything back)
// Successor:  connect --released--> starts (balancer workers held back), adopts --as many passing endpoints--> starts
//             the balancer workers (listeners beside the incumbent's) --> ready --draining--> owner
//             (fails or times out before ready: releases what it adopted, sends abort, exits 1)
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { FROM_INCUMBENT_TAGS, type FromIncumbent, type Released, TO_INCUMBENT_TAGS, type ToIncumbent } from "../protocol/takeover.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type Channel, type ChannelServer, connectChannel, listenChannel, MAX_SOCKET_PATH_BYTES } from "./takeover-channel.ts";

export const controlSocketPath = (dataDir: string) => join(dataDir, "agent.sock");

/** The successor's default bound to become ready; the incumbent waits this plus INCUMBENT_GRACE_MS before resuming. */
export const DEFAULT_TAKEOVER_TIMEOUT_MS = 60_000;
/** The incumbent resumes only after the successor's own deadline has surely passed, so both never supervise at once. */
const INCUMBENT_GRACE_MS = 15_000;
/** A validation run of a new binary (`BINARY validate CONFIG`) that takes longer than this is a failed upgrade. */
const VALIDATE_TIMEOUT_MS = 30_000;
/** Enough of a failed validation's output to name the problem, not a wall of text. */
const VALIDATE_OUTPUT_CHARS = 2000;

/** What the supervisor does for a takeover; each call is made at most once per takeover and never concurrently. */
export interface Handover {
  /** Stop supervising replicas (they keep running), close the admin API and DNS, stop writing the store. */
  release(): Promise<{ desired: Record<string, number>; passing: Record<string, number> }>;
  /** Take back what release() gave up (adopting the replicas again). */
  resume(): Promise<void>;
  /** Passing, not draining endpoints per balancer, as pushed to the balancer workers. */
  passing(): Record<string, number>;
  /** Start the balancer workers a successor started without (their listeners join the incumbent's ports). */
  startBalancers(): Promise<void>;
  /** Balancers whose listener failed to bind since start. */
  listenFailures(): string[];
  /** Replica counts the incumbent had set at run time, applied before the first reconcile. */
  seedDesired(desired: Readonly<Record<string, number>>): void;
}

export interface IncumbentOptions {
  path: string;
  handover: Handover;
  log: Logger;
  version: string;
  configPath: string;
  /** The command that runs `binary` as polis (the compiled binary, or bun and src/main.ts), before the command name. */
  commandOf(binary: string): string[];
  /** Called once the successor said it serves: stop accepting, drain, stop everything but the replicas, exit. */
  retire(): void;
  /** After a takeover: the socket file belongs to the agent we replaced (still draining); take the path over. */
  replace?: boolean;
}

export interface Incumbent {
  readonly path: string;
  /** Starts `binary` as a successor (SIGUSR2 with our own binary, or `polis upgrade BINARY`); reports progress. */
  upgrade(binary: string, report?: (m: FromIncumbent) => void): void;
  close(): void;
}

type IncumbentState = "serving" | "releasing" | "released" | "retiring";

/**
 * Serves the control socket of a running agent. Returns undefined (with a warning) when the socket cannot be made
 * (a data dir path too long for a Unix socket): the agent runs, without takeovers. Throws when another agent already
 * serves this data dir.
 */
export async function serveTakeovers(opts: IncumbentOptions): Promise<Incumbent | undefined> {
  const log = opts.log;
  let state: IncumbentState = "serving";
  let current: Channel<ToIncumbent, FromIncumbent> | undefined;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  let upgrading: { pid: number | undefined; report: (m: FromIncumbent) => void } | undefined;

  const resume = async (reason: string) => {
    if (state !== "released") return;
    if (deadline) clearTimeout(deadline);
    deadline = undefined;
    const c = current;
    current = undefined;
    log.warn("takeover abandoned; taking the replicas and listeners back", { reason });
    try {
      await opts.handover.resume();
    } catch (e) {
      log.error("taking back after an abandoned takeover failed", { error: e });
    }
    state = "serving";
    c?.send({ t: "resumed", reason });
    c?.close();
    upgrading?.report({ t: "upgrade-failed", reason });
    upgrading = undefined;
  };

  const onTakeover = async (c: Channel<ToIncumbent, FromIncumbent>, msg: Extract<ToIncumbent, { t: "takeover" }>) => {
    if (state !== "serving") {
      c.send({ t: "refused", reason: `a takeover is already in progress (state ${state})` });
      return c.close();
    }
    state = "releasing";
    current = c;
    log.info("handing over to a successor agent", { successor: msg.pid, version: msg.version });
    let r: Awaited<ReturnType<Handover["release"]>>;
    try {
      r = await opts.handover.release();
    } catch (e) {
      state = "released";
      return resume(`release failed: ${(e as Error).message}`);
    }
    state = "released";
    if (c.closed) return resume("the successor went away during the release");
    const timeoutMs = Math.max(1000, Number.isFinite(msg.timeoutMs) ? msg.timeoutMs : DEFAULT_TAKEOVER_TIMEOUT_MS);
    deadline = setTimeout(() => void resume(`the successor was not ready within ${timeoutMs + INCUMBENT_GRACE_MS} ms`), timeoutMs + INCUMBENT_GRACE_MS);
    c.send({ t: "released", pid: process.pid, version: opts.version, desired: r.desired, passing: r.passing });
  };

  const onConnection = (c: Channel<ToIncumbent, FromIncumbent>) => {
    c.onClose(() => {
      if (c === current && state === "released") void resume("the successor went away before it was ready");
    });
    c.onMessage((msg) => {
      switch (msg.t) {
        case "takeover":
          void onTakeover(c, msg);
          return;
        case "ready":
          if (c !== current || state !== "released") return c.close();
          if (deadline) clearTimeout(deadline);
          state = "retiring";
          c.send({ t: "draining" });
          log.info("the successor agent serves; draining and exiting, replicas keep running");
          upgrading?.report({ t: "upgrade-done", pid: upgrading.pid ?? 0 });
          upgrading = undefined;
          opts.retire();
          return;
        case "abort":
          if (c === current) void resume(`the successor gave up: ${msg.reason}`);
          return;
        case "upgrade":
          incumbent.upgrade(msg.binary, (m) => c.send(m));
          return;
      }
    });
  };

  if (Buffer.byteLength(opts.path) > MAX_SOCKET_PATH_BYTES) {
    log.warn("agent.data_dir is too long for the control socket: takeover and upgrade are not available", { path: opts.path });
    return undefined;
  }
  const server: ChannelServer = await listenChannel<ToIncumbent, FromIncumbent>(opts.path, TO_INCUMBENT_TAGS, onConnection, { replace: opts.replace === true });

  const incumbent: Incumbent = {
    path: opts.path,
    upgrade(binary, report = () => {}) {
      const fail = (reason: string) => {
        log.error("upgrade refused", { binary, reason });
        report({ t: "upgrade-failed", reason });
      };
      if (state !== "serving" || upgrading) return fail(`a takeover is already in progress`);
      try {
        accessSync(binary, constants.X_OK);
      } catch {
        return fail(`${binary}: not an executable file`);
      }
      upgrading = { pid: undefined, report };
      void (async () => {
        // The new binary must accept the running config before anything is handed over.
        const check = Bun.spawn([...opts.commandOf(binary), "validate", opts.configPath], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
        const timer = setTimeout(() => check.kill("SIGKILL"), VALIDATE_TIMEOUT_MS);
        const [code, out, err] = await Promise.all([check.exited, new Response(check.stdout).text(), new Response(check.stderr).text()]);
        clearTimeout(timer);
        if (code !== 0) {
          upgrading = undefined;
          return fail(`${binary} validate ${opts.configPath} failed (exit ${code}): ${(err || out).trim().slice(0, VALIDATE_OUTPUT_CHARS)}`);
        }
        const child = Bun.spawn([...opts.commandOf(binary), "agent", "--takeover", "--config", opts.configPath], { stdio: ["ignore", "inherit", "inherit"], detached: true, env: process.env, cwd: process.cwd() });
        if (upgrading) upgrading.pid = child.pid;
        log.info("started a successor agent", { binary, pid: child.pid });
        report({ t: "upgrade-started", pid: child.pid });
        void child.exited.then((exitCode) => {
          if (upgrading?.pid !== child.pid) return;
          upgrading = undefined;
          fail(`the successor (pid ${child.pid}) exited with code ${exitCode} before it took over`);
        });
      })().catch((e) => {
        upgrading = undefined;
        fail((e as Error).message);
      });
    },
    close() {
      if (deadline) clearTimeout(deadline);
      // Once retiring, the path is the successor's, even before it has bound its own socket there.
      server.close(state !== "retiring");
    },
  };
  return incumbent;
}

export interface Successor {
  readonly released: Released;
  /** Tell the incumbent we serve. "aborted": it took everything back first (we must give up). */
  commit(): Promise<"committed" | "aborted">;
  /** Tell the incumbent to take everything back. */
  abort(reason: string): void;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Asks the agent serving `path` to hand over. Undefined when no agent serves it (nothing to take over: start as
 * usual). Throws with the incumbent's reason when it refuses or does not answer.
 */
export async function requestTakeover(path: string, opts: { timeoutMs: number; version: string }): Promise<Successor | undefined> {
  const c = await connectChannel<FromIncumbent, ToIncumbent>(path, FROM_INCUMBENT_TAGS, 5000);
  if (!c) return undefined;
  c.send({ t: "takeover", pid: process.pid, version: opts.version, timeoutMs: opts.timeoutMs });
  // Releasing waits for the procs worker and the admin API to stop: bounded by our own timeout.
  const m = await c.receive(opts.timeoutMs).catch((e: Error) => {
    c.close();
    throw e;
  });
  if (m === "closed") throw new Error(`the running agent closed the control socket ${path} without an answer`);
  if (m.t !== "released") {
    c.close();
    if (m.t === "refused") throw new Error(`the running agent refused: ${m.reason}`);
    throw new Error(m.t === "resumed" ? `the running agent could not hand over (${m.reason}) and serves on` : `unexpected answer "${m.t}" on ${path}`);
  }
  const released = m;
  return {
    released,
    async commit() {
      const sent = c.send({ t: "ready" });
      const answer = sent ? await c.receive(10_000).catch(() => "timeout" as const) : "closed";
      c.close();
      // A silent incumbent has released everything already: we own the replicas now, whatever it still holds.
      if (answer === "timeout") return "committed";
      // Closed without an answer: it resumed (alive) or it died (then nobody else supervises: we do).
      if (answer === "closed") return alive(released.pid) ? "aborted" : "committed";
      return answer.t === "draining" ? "committed" : "aborted";
    },
    abort(reason) {
      c.send({ t: "abort", reason });
      c.close();
    },
  };
}

/** How often a successor looks at its endpoints while it catches up (a cheap count over the pools). */
const CATCH_UP_POLL_MS = 50;

/**
 * The successor's last step: once every balancer has as many passing endpoints as the incumbent had (and no
 * listener failed to bind), tell the incumbent to drain. Gives up at `deadline` (epoch ms) or on a listen failure.
 */
export async function completeTakeover(s: Successor, handover: Handover, deadline: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  while (!caughtUp(handover.passing(), s.released.passing)) {
    if (Date.now() >= deadline) {
      return { ok: false, reason: `not as many passing endpoints as the running agent had (${JSON.stringify(handover.passing())} < ${JSON.stringify(s.released.passing)}) by the deadline` };
    }
    await Bun.sleep(CATCH_UP_POLL_MS);
  }
  // Only now do our listeners join the ports: a listener bound earlier would get new connections and answer them 503.
  await handover.startBalancers();
  const failed = handover.listenFailures();
  if (failed.length > 0) return { ok: false, reason: `cannot listen for balancer(s) ${failed.join(", ")}` };
  const outcome = await s.commit();
  return outcome === "committed" ? { ok: true } : { ok: false, reason: "the running agent took everything back before it heard we were ready" };
}

/** True when every balancer has at least as many passing endpoints as the incumbent had at release. */
export function caughtUp(mine: Readonly<Record<string, number>>, theirs: Readonly<Record<string, number>>): boolean {
  for (const [name, n] of Object.entries(theirs)) if ((mine[name] ?? 0) < n) return false;
  return true;
}
