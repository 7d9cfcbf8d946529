// Shared by the chaos scenarios: the compiled agent with a marker every replica inherits (to count replicas that
// run twice, adopted or not), a bounded keep-alive load loop through a balancer, and the crash signs in the logs.
import { readdirSync, readFileSync } from "node:fs";
import { type RunningAgent, startAgent } from "../../test/support/agent.ts";
import { freePort, portRange } from "../../test/fixtures/it-apps-fixture.ts";
import { waitFor } from "../../test/support/wait-for.ts";

export { load, type Load, allReady, appInfo, replicas, events, alive } from "../../test/fixtures/it-apps-fixture.ts";
export { waitFor } from "../../test/support/wait-for.ts";
export { startAgent, type RunningAgent };

export interface Figures {
  /** Requests sent and failed through the balancer (or API calls / queries, as the scenario says). */
  sent: number;
  failed: number;
  /** Agent exits nobody asked for, uncaught exceptions and unhandled rejections, workers that crashed by themselves. */
  crashes: number;
  /** Things written before the fault and missing after it (registrations, scale, checks). */
  stateLost: number;
  /** Replica processes beyond one per slot (the same app and replica id alive twice, or more than desired). */
  doubleRun: number;
  notes: string;
  /** Not run here (a permission the machine does not give); the notes say why. */
  skipped?: boolean;
}

export interface Scenario {
  readonly name: string;
  /** The figure this scenario must reach, in words. */
  readonly goal: string;
  /** Which figures the goal is about; the others are reported only. */
  readonly judged: ReadonlyArray<"sent" | "failed" | "crashes" | "stateLost" | "doubleRun">;
  run(ctx: ChaosContext): Promise<Figures>;
}

export interface ChaosContext {
  /** Scales each scenario's fault phase: 1 for `npm run chaos`, less for the CI subset. */
  readonly scale: number;
  note(msg: string): void;
}

export const emptyFigures = (): Figures => ({ sent: 0, failed: 0, crashes: 0, stateLost: 0, doubleRun: 0, notes: "" });

export function passed(s: Scenario, f: Figures): boolean {
  return s.judged.every((k) => f[k] === 0);
}

let runSeq = 0;

export interface ChaosAgent {
  readonly agent: RunningAgent;
  /** The balancer "web"'s port (when the scenario has apps). */
  readonly port: number;
  /** The marker every replica of this agent inherits in its environment. */
  readonly marker: string;
  readonly replicaPorts: [number, number];
}

/** A demo app the compiled binary runs as its own replicas (`@self demo-app`), with an HTTP check. */
export function demoApp(name: string, replicas: number, replicaPorts: [number, number], extra: Record<string, unknown> = {}) {
  return {
    name,
    command: "@self",
    args: ["demo-app"],
    replicas,
    port: { range: replicaPorts },
    readiness: { kind: "port", timeout: "20s" },
    stop: { timeout: "5s" },
    checks: [{ name: "http", kind: "http", path: "/healthz", interval: "1s", timeout: "500ms", unhealthy_interval: "1s", failures_before_critical: 2 }],
    ...extra,
  };
}

/** An agent with `apps` (demo apps by default) behind a balancer "web", and the config merged over that. */
export async function chaosAgent(
  opts: { apps?: number; app?: Record<string, unknown>; config?: Record<string, unknown>; env?: Record<string, string>; balancer?: Record<string, unknown> } = {},
): Promise<ChaosAgent> {
  const marker = `chaos-${process.pid}-${++runSeq}`;
  const port = freePort();
  const replicaPorts = portRange();
  const apps = opts.apps === undefined || opts.apps > 0 ? [demoApp("demo", opts.apps ?? 3, replicaPorts, opts.app)] : [];
  const config: Record<string, unknown> = {
    apps,
    balancers: apps.length > 0 ? [{ name: "web", listen: `127.0.0.1:${port}`, backends: { app: "demo" }, ...opts.balancer }] : [],
    ...opts.config,
  };
  const agent = await startAgent({ config, env: { POLIS_CHAOS_MARKER: marker, ...opts.env }, readyTimeoutMs: 60_000 });
  return { agent, port, marker, replicaPorts };
}

/** Live replica leaders carrying this marker, as [app, replica id, pid]. */
export function markedReplicas(marker: string): Array<{ app: string; id: string; pid: number }> {
  const out: Array<{ app: string; id: string; pid: number }> = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z") continue;
      const env = readFileSync(`/proc/${name}/environ`, "utf8").split("\0");
      if (!env.includes(`POLIS_CHAOS_MARKER=${marker}`)) continue;
      const app = env.find((e) => e.startsWith("POLIS_APP="))?.slice(10);
      const id = env.find((e) => e.startsWith("POLIS_REPLICA="))?.slice(14);
      if (app !== undefined && id !== undefined) out.push({ app, id, pid: Number(name) });
    } catch {
      // Gone while we looked, or not ours to read.
    }
  }
  return out;
}

/** Replicas beyond one per (app, id) and beyond `desired` in all. */
export function doubleRunCount(marker: string, desired: number): number {
  const live = markedReplicas(marker);
  const slots = new Set(live.map((r) => `${r.app}/${r.id}`));
  return Math.max(live.length - slots.size, live.length - desired, 0);
}

/** SIGKILLs every replica group carrying the marker (cleanup after a scenario that orphaned some). */
export function killMarked(marker: string): void {
  for (const r of markedReplicas(marker)) {
    try {
      process.kill(-r.pid, "SIGKILL");
    } catch {
      try {
        process.kill(r.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
}

/** Crash signs in an agent's output: uncaught exceptions, unhandled rejections, stack traces printed raw. */
export function crashLines(agent: RunningAgent): string[] {
  return agent.lines
    .filter((l) => l.msg === "uncaught exception" || l.msg === "unhandled rejection" || (typeof l.raw === "string" && /^\s+at |Error:/.test(l.raw)))
    .map((l) => JSON.stringify(l).slice(0, 300));
}

/** Workers that crashed by themselves (not through the fault-injection route). */
export function workerCrashes(agent: RunningAgent, injected = 0): number {
  return Math.max(0, agent.lines.filter((l) => l.event === "worker.crashed").length - injected);
}

/** Waits until the balancer "web" has `n` endpoints, every one passing its checks (load before that sees 503s). */
export async function allPassing(agent: RunningAgent, n: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const res = await agent.api("/v1/balancers/web");
      if (res.status !== 200) return false;
      const eps = ((await res.json()) as { endpoints: Array<{ health: string; draining: boolean }> }).endpoints;
      return eps.length === n && eps.every((e) => e.health === "passing" && !e.draining);
    },
    { timeoutMs, what: `${n} passing endpoints behind the balancer` },
  );
}

/** A promise that resolves after `ms` unless `stop` says so first (so a phase of a scenario is bounded in time). */
export const sleep = (ms: number) => Bun.sleep(ms);
