// Shapes the procs manager takes and reports: app specs, events, snapshots and stats batches.
import type { BackoffOptions } from "../core/supervision/backoff.ts";
import type { CrashLoopOptions } from "../core/supervision/crash-loop.ts";
import type { RestartMode } from "../core/supervision/restart-policy.ts";

export type PortMode =
  /** Each replica gets its own free port from [from, to], in env var `env` (default PORT). */
  | { readonly kind: "range"; readonly from: number; readonly to: number; readonly env?: string }
  /** Every replica gets the same port (they share it with SO_REUSEPORT). */
  | { readonly kind: "shared"; readonly port: number; readonly env?: string }
  | { readonly kind: "none" };

export interface ReadinessSpec {
  /**
   * port: TCP connect to 127.0.0.1:port succeeds (with a shared port this only proves that some
   * replica listens: prefer stdout there); stdout: a line matches `pattern`; none: ready at spawn.
   * Default: port when the app has a port, else none. A timeout kills the replica (reason
   * readiness-timeout), which then follows its restart policy.
   */
  readonly kind: "port" | "stdout" | "none";
  readonly pattern?: string;
  readonly timeoutMs?: number;
}

export interface AppSpec {
  readonly name: string;
  readonly command: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly port?: PortMode;
  readonly readiness?: ReadinessSpec;
  readonly restart?: {
    readonly mode?: RestartMode;
    readonly backoff?: Partial<BackoffOptions>;
    readonly crashLoop?: Partial<CrashLoopOptions>;
  };
  /** Graceful stop: `signal` to the process group, SIGKILL to the group after `timeoutMs`. */
  readonly stop?: { readonly signal?: NodeJS.Signals; readonly timeoutMs?: number };
  /** RSS of the whole process group above this is killed and restarted (reason memory-limit). */
  readonly maxMemoryBytes?: number;
  /**
   * Heartbeat watchdog: the replica prints a line matching `pattern` (default `^HEARTBEAT\b`) on
   * stdout at least every `timeoutMs`. Stdout was chosen over touching a file because we already
   * read every line, so a heartbeat costs nothing extra to observe and needs no polling of mtimes.
   */
  readonly watchdog?: { readonly timeoutMs: number; readonly pattern?: string };
  /**
   * Each replica writes its stdout and stderr to `<dir>/<app>-<id>.stdout.log` and `.stderr.log`
   * (rotated by copytruncate past maxBytes into `.1` … `.files`; a private temp dir when no dir is
   * given), and the manager keeps a ring of its last `ringLines` lines. See output-tail.ts.
   */
  readonly logs?: { readonly dir?: string; readonly maxBytes?: number; readonly files?: number; readonly ringLines?: number };
}

export type ReplicaState =
  | "starting"
  | "ready"
  | "stopping"
  | "backoff"
  | "crash-loop"
  | "exited"
  | "failed"
  | "stopped";

export interface LastExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly reason: string;
  readonly at: number;
}

export interface ReplicaSnapshot {
  readonly app: string;
  readonly id: number;
  readonly pid: number | null;
  readonly port: number | null;
  readonly state: ReplicaState;
  readonly restarts: number;
  /** Wall-clock ms of the current process's spawn. */
  readonly startedAt: number | null;
  /** Field 22 of /proc/PID/stat (clock ticks after boot): with the pid it names the process for adopt(). */
  readonly startTime: number | null;
  readonly adopted: boolean;
  readonly cpuPercent: number;
  readonly rssBytes: number;
  readonly lastExit: LastExit | null;
}

export interface AppSnapshot {
  readonly name: string;
  readonly desired: number;
  readonly crashLoop: boolean;
  readonly replicas: readonly ReplicaSnapshot[];
}

export interface ReplicaStats {
  readonly app: string;
  readonly id: number;
  readonly pid: number;
  /** Percent of one core, summed over the process group. */
  readonly cpuPercent: number;
  readonly rssBytes: number;
  readonly processes: number;
}

export interface LogLine {
  readonly app: string;
  readonly id: number;
  readonly stream: "stdout" | "stderr";
  readonly line: string;
  readonly at: number;
}

interface Base {
  readonly app: string;
  /** Wall-clock ms. */
  readonly at: number;
}
interface OfReplica extends Base {
  readonly id: number;
}

export type ProcsEvent =
  | (OfReplica & { readonly type: "starting"; readonly port: number | null; readonly attempt: number })
  | (OfReplica & { readonly type: "spawned"; readonly pid: number; readonly startTime: number | null })
  | (OfReplica & { readonly type: "spawn-failed"; readonly message: string })
  | (OfReplica & { readonly type: "ready"; readonly pid: number; readonly port: number | null; readonly afterMs: number })
  | (OfReplica & { readonly type: "not-ready"; readonly pid: number; readonly reason: string; readonly message: string })
  | (OfReplica & { readonly type: "exited"; readonly pid: number; readonly code: number | null; readonly signal: string | null; readonly reason: string; readonly upMs: number })
  | (OfReplica & { readonly type: "restarting"; readonly delayMs: number; readonly reason: string })
  | (OfReplica & { readonly type: "stopping"; readonly pid: number; readonly signal: string; readonly reason: string })
  | (OfReplica & { readonly type: "stopped"; readonly pid: number | null; readonly forced: boolean; readonly reason: string })
  | (OfReplica & { readonly type: "adopted"; readonly pid: number; readonly port: number | null })
  | (OfReplica & { readonly type: "adopt-rejected"; readonly pid: number; readonly reason: "gone" | "pid-reused" | "unknown-app" | "duplicate"; readonly killed: boolean })
  | (Base & { readonly type: "crash-loop"; readonly restarts: number; readonly windowMs: number; readonly cooldownMs: number; readonly reason: string })
  | (Base & { readonly type: "crash-loop-cleared"; readonly reason: string })
  | (Base & { readonly type: "rolling-restart"; readonly status: "done" | "aborted"; readonly replaced: number; readonly reason: string })
  | (Base & { readonly type: "error"; readonly message: string });

export type ProcsEventType = ProcsEvent["type"];

/** An event before the manager stamps its time. */
export type ProcsEventInput = ProcsEvent extends infer E ? (E extends ProcsEvent ? Omit<E, "at"> : never) : never;

/** What the caller (the procs worker entry) plugs in; every hook is optional and may throw safely. */
export interface ProcessManagerHooks {
  onEvent?(event: ProcsEvent): void;
  onStats?(batch: readonly ReplicaStats[]): void;
  /** Called before a replica is stopped by scale-down, so the caller can drain it from the balancer. */
  beforeStop?(replica: ReplicaSnapshot): Promise<void> | void;
}

export interface AdoptRecord {
  readonly app: string;
  readonly id: number;
  readonly pid: number;
  readonly startTime: number;
  readonly port: number | null;
}
