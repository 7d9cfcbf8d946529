// Shared setup for procs tests: a manager recording its events, fast specs, fixture paths.
import { join } from "node:path";
import { ProcessManager } from "../../../src/procs/process-manager.ts";
import type { AppSpec, ProcsEvent, ProcsEventType, ReplicaSnapshot, ReplicaStats } from "../../../src/procs/types.ts";
import { waitFor } from "../../support/wait-for.ts";

export const fixture = (name: string) => join(import.meta.dir, "../../fixtures", `procs-${name}-fixture.ts`);

/** A port range unlikely to collide with other tests, below Linux's ephemeral range (32768+) used by port 0. */
export function portRange(size = 20): { kind: "range"; from: number; to: number } {
  const from = 20_000 + Math.floor(Math.random() * 600) * 20;
  return { kind: "range", from, to: from + size - 1 };
}

export function fastSpec(name: string, fixtureName: string, over: Partial<AppSpec> = {}): AppSpec {
  return {
    name,
    command: process.execPath,
    args: [fixture(fixtureName)],
    replicas: 1,
    restart: {
      mode: "always",
      backoff: { initialMs: 5, capMs: 20, jitter: "none" },
      crashLoop: { maxRestarts: 3, windowMs: 30_000, cooldownMs: 60_000 },
    },
    stop: { timeoutMs: 1_000 },
    readiness: { kind: "none" },
    ...over,
  };
}

export interface Harness extends AsyncDisposable {
  readonly pm: ProcessManager;
  readonly events: ProcsEvent[];
  readonly stats: (readonly ReplicaStats[])[];
  readonly stoppedBefore: ReplicaSnapshot[];
  of<T extends ProcsEventType>(type: T, app?: string): Extract<ProcsEvent, { type: T }>[];
  waitEvent<T extends ProcsEventType>(type: T, pred?: (e: Extract<ProcsEvent, { type: T }>) => boolean, timeoutMs?: number): Promise<Extract<ProcsEvent, { type: T }>>;
  replica(app: string, id: number): ReplicaSnapshot | undefined;
}

export function harness(): Harness {
  const events: ProcsEvent[] = [];
  const stats: (readonly ReplicaStats[])[] = [];
  const stoppedBefore: ReplicaSnapshot[] = [];
  const pm = new ProcessManager(
    {
      onEvent: (e) => events.push(e),
      onStats: (b) => stats.push(b),
      beforeStop: (r) => {
        stoppedBefore.push(r);
      },
    },
    { statsIntervalMs: 50 },
  );
  const of = <T extends ProcsEventType>(type: T, app?: string) =>
    events.filter((e): e is Extract<ProcsEvent, { type: T }> => e.type === type && (app === undefined || e.app === app));
  return {
    pm,
    events,
    stats,
    stoppedBefore,
    of,
    waitEvent: (type, pred = () => true, timeoutMs = 10_000) =>
      waitFor(() => of(type).find(pred), { timeoutMs, what: `event ${type}` }).catch((e: Error) => {
        const seen = events.map((x) => `${x.type}${"reason" in x ? `(${x.reason})` : ""}`).join(" ");
        throw new Error(`${e.message}; events so far: ${seen}`);
      }),
    replica: (app, id) => pm.snapshot().find((a) => a.name === app)?.replicas.find((r) => r.id === id),
    [Symbol.asyncDispose]: () => pm.stopAll(),
  };
}
