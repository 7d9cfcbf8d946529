// Fills an app spec's defaults once, so the rest of procs reads plain values.
import { DEFAULT_BACKOFF } from "../core/supervision/backoff.ts";
import { DEFAULT_CRASH_LOOP } from "../core/supervision/crash-loop.ts";
import type { RestartPolicy } from "../core/supervision/restart-policy.ts";
import { DRAIN_REPLY_MARGIN_MS } from "../protocol/balancer.ts";
import type { DriverSpec, ResourcesSpec } from "../protocol/drivers.ts";
import type { AppSpec, PortMode } from "./types.ts";

export const DEFAULT_STOP_TIMEOUT_MS = 10_000;
export const DEFAULT_READINESS_TIMEOUT_MS = 30_000;
/** Enough lines to see why something crashed, small enough that 100 replicas stay under a few MB. */
export const DEFAULT_RING_LINES = 200;
export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_FILES = 3;
export const DEFAULT_HEARTBEAT_PATTERN = "^HEARTBEAT\\b";

export interface ResolvedSpec {
  readonly name: string;
  /** The revision these fields belong to (0: none given). */
  readonly revision: number;
  /** Slots a rollout may hold beyond `replicas`. */
  readonly surge: number;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly port: PortMode;
  readonly portEnv: string;
  readonly host: string;
  readonly readiness: { kind: "port" | "stdout" | "none"; pattern: RegExp | null; timeoutMs: number };
  readonly restart: RestartPolicy;
  readonly stopSignal: NodeJS.Signals;
  readonly stopTimeoutMs: number;
  /** How long a hook to the supervisor (drain an old replica, route to a new one) may take: its drain's bound. */
  readonly hookTimeoutMs: number;
  readonly maxMemoryBytes: number | null;
  readonly watchdog: { timeoutMs: number; pattern: RegExp } | null;
  readonly logs: { dir: string | null; maxBytes: number; files: number; ringLines: number };
  readonly driver: DriverSpec;
  readonly resources: ResourcesSpec | undefined;
}

export function resolveSpec(spec: AppSpec): ResolvedSpec {
  const port = spec.port ?? { kind: "none" };
  const readinessKind = spec.readiness?.kind ?? (port.kind === "none" ? "none" : "port");
  return {
    name: spec.name,
    revision: spec.revision ?? 0,
    surge: Math.max(0, Math.floor(spec.surge ?? 0)),
    command: spec.command,
    args: spec.args ?? [],
    cwd: spec.cwd,
    env: spec.env ?? {},
    replicas: Math.max(0, Math.floor(spec.replicas)),
    port,
    portEnv: (port.kind !== "none" && port.env) || "PORT",
    host: spec.host ?? "127.0.0.1",
    readiness: {
      kind: readinessKind,
      pattern: spec.readiness?.pattern ? new RegExp(spec.readiness.pattern) : null,
      timeoutMs: spec.readiness?.timeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS,
    },
    restart: {
      mode: spec.restart?.mode ?? "always",
      backoff: { ...DEFAULT_BACKOFF, ...spec.restart?.backoff },
      crashLoop: { ...DEFAULT_CRASH_LOOP, ...spec.restart?.crashLoop },
    },
    stopSignal: spec.stop?.signal ?? "SIGTERM",
    stopTimeoutMs: spec.stop?.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    // One margin for the balancers' answers to the supervisor, one for the supervisor's answer back to procs.
    hookTimeoutMs: (spec.drainTimeoutMs ?? 0) + 2 * DRAIN_REPLY_MARGIN_MS,
    maxMemoryBytes: spec.maxMemoryBytes ?? null,
    watchdog: spec.watchdog
      ? { timeoutMs: spec.watchdog.timeoutMs, pattern: new RegExp(spec.watchdog.pattern ?? DEFAULT_HEARTBEAT_PATTERN) }
      : null,
    logs: {
      dir: spec.logs?.dir ?? null,
      maxBytes: spec.logs?.maxBytes ?? DEFAULT_LOG_MAX_BYTES,
      files: spec.logs?.files ?? DEFAULT_LOG_FILES,
      ringLines: spec.logs?.ringLines ?? DEFAULT_RING_LINES,
    },
    driver: spec.driver ?? { kind: "exec" },
    resources: spec.resources,
  };
}

/**
 * What a replica of revision `own` runs under the app's current spec `app`: the revision's own fields (command,
 * args, cwd, env, readiness, memory limit) and everything else (ports, restart policy, stop, logs, watchdog) from
 * the app, so a change to those reaches replicas of every revision.
 */
export function underApp(app: ResolvedSpec, own: ResolvedSpec): ResolvedSpec {
  if (own.revision === app.revision) return app;
  return { ...app, revision: own.revision, command: own.command, args: own.args, cwd: own.cwd, env: own.env, readiness: own.readiness, maxMemoryBytes: own.maxMemoryBytes };
}
