// `polis agent` around a takeover: before the supervisor exists (ask the running agent to release, or make sure none
// runs on this data dir), after it started (catch up, commit, serve our own control socket), and when it failed
// (hand everything back). The agent command calls these in order; see takeover.ts for the exchange.
import { resolve } from "node:path";
import type { Logger } from "../telemetry/logger.ts";
import { VERSION } from "../version.ts";
import type { Supervisor } from "./supervisor.ts";
import { completeTakeover, controlSocketPath, DEFAULT_TAKEOVER_TIMEOUT_MS, type Incumbent, requestTakeover, type Successor, serveTakeovers } from "./takeover.ts";
import { connectChannel } from "./takeover-channel.ts";

export interface AgentTakeover {
  /** True when a running agent released its replicas to us: create the supervisor with deferBalancers. */
  readonly successor: boolean;
  /** Replica counts the replaced agent had set at run time; call before start(). */
  seed(sup: Supervisor): void;
  /** After start(): catch up and commit (when taking over), then serve our control socket. Throws when the takeover failed (everything handed back). */
  complete(sup: Supervisor, hooks: { configPath: string; retire(): void }): Promise<Incumbent | undefined>;
  /** start() failed: give the replicas back to the agent we were replacing, if any, and stop. */
  giveBack(sup: Supervisor, reason: string): Promise<void>;
}

/** The compiled binary runs itself; under bun the script comes first. */
export function commandOf(binary: string): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/");
  return binary === process.execPath && !compiled ? [process.execPath, Bun.main] : [binary];
}

/**
 * Before the supervisor is created (it opens the store): with `takeover`, ask the running agent to release everything;
 * without, refuse to start beside a running agent on the same data dir (both would adopt the same replicas).
 * Throws with a message for the operator.
 */
export async function beginAgent(opts: { dataDir: string; takeover: boolean; timeoutMs?: number; log: Logger }): Promise<AgentTakeover> {
  const path = controlSocketPath(resolve(opts.dataDir));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TAKEOVER_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let successor: Successor | undefined;
  if (opts.takeover) {
    successor = await requestTakeover(path, { timeoutMs, version: VERSION });
    if (successor) {
      const r = successor.released;
      opts.log.info("the running agent released its replicas to us", { from: r.pid, version: r.version, passing: r.passing, desired: r.desired });
    } else opts.log.info("no running agent to take over; starting fresh", { socket: path });
  } else {
    const probe = await connectChannel(path, new Set(), 1000);
    if (probe) {
      probe.close();
      throw new Error(`another agent is running with data dir ${opts.dataDir} (control socket ${path}); stop it, or replace it with "polis agent --takeover"`);
    }
  }

  const giveBack = async (sup: Supervisor, reason: string) => {
    // Let go of what we adopted before stopping, so stopping stops no replica; then the other agent resumes.
    await sup.handover.release().catch(() => {});
    await sup.stop().catch(() => {});
    successor?.abort(reason);
  };

  return {
    successor: successor !== undefined,
    seed(sup) {
      if (successor) sup.handover.seedDesired(successor.released.desired);
    },
    giveBack: async (sup, reason) => {
      if (successor) opts.log.error("handing the replicas back to the agent we were replacing", { to: successor.released.pid, reason });
      await giveBack(sup, reason);
    },
    async complete(sup, hooks) {
      if (successor) {
        const done = await completeTakeover(successor, sup.handover, deadline);
        if (!done.ok) {
          opts.log.error("takeover failed; handing the replicas back", { to: successor.released.pid, reason: done.reason });
          await giveBack(sup, done.reason);
          throw new Error(`takeover failed: ${done.reason}`);
        }
        opts.log.info("took over from the previous agent; it drains and exits", { from: successor.released.pid });
      }
      // Without a control socket the agent still runs; it just cannot be taken over.
      return serveTakeovers({
        path,
        handover: sup.handover,
        log: opts.log,
        version: VERSION,
        configPath: resolve(hooks.configPath),
        commandOf,
        retire: hooks.retire,
        replace: successor !== undefined,
      }).catch((e: Error) => {
        opts.log.error("no control socket: takeover and upgrade are not available", { error: e.message });
        return undefined;
      });
    },
  };
}
