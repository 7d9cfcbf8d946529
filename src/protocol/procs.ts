// Messages between the supervisor and the procs worker, and every shape they carry: app specs, events, snapshots,
// stats. This file is the one list of what crosses the thread boundary; src/procs re-exports what it uses.
import type { BackoffOptions } from "../core/supervision/backoff.ts";
import type { CrashLoopOptions } from "../core/supervision/crash-loop.ts";
import type { KillCause, Reason, RestartMode } from "../core/supervision/restart-policy.ts";
import type { InitMessage } from "./common.ts";
import type { DriverSpec, ResourceUsage, ResourcesSpec } from "./drivers.ts";
import type { FromProcsTasks, ProcsTaskRequests, ToProcsTasks } from "./tasks.ts";

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
  /** The revision these fields are (src/core/deploy/revision.ts); replicas keep theirs until a rollout replaces them. */
  readonly revision?: number;
  /** Replicas a rollout in progress may run beyond `replicas` (it retires them itself): a reconcile trims only above. */
  readonly surge?: number;
  readonly command: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly port?: PortMode;
  /** The address replicas bind to, passed as HOST next to PORT; readiness connects there (default 127.0.0.1). */
  readonly host?: string;
  readonly readiness?: ReadinessSpec;
  readonly restart?: {
    readonly mode?: RestartMode;
    readonly backoff?: Partial<BackoffOptions>;
    readonly crashLoop?: Partial<CrashLoopOptions>;
  };
  /** Graceful stop: `signal` to the process group, SIGKILL to the group after `timeoutMs`. */
  readonly stop?: { readonly signal?: NodeJS.Signals; readonly timeoutMs?: number };
  /**
   * The longest drain_timeout among the balancers: a drain hook for one of this app's replicas is answered within
   * it (plus DRAIN_REPLY_MARGIN_MS), since each balancer answers its drain by then. It is the hooks' only bound.
   */
  readonly drainTimeoutMs?: number;
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
  /** How replicas run: exec (a host process, the default) or oci (a container through crun/runc). */
  readonly driver?: DriverSpec;
  /** Kernel-enforced limits per replica (see src/procs/cgroups). */
  readonly resources?: ResourcesSpec;
}

/** Why the agent stops a replica on purpose: a planned stop, never followed by a restart. */
export const StopReason = {
  ROLLING_RESTART: "rolling-restart",
  ROLLING_RESTART_ABORTED: "rolling-restart-aborted",
  SCALE_DOWN: "scale-down",
  OPERATOR_RESTART: "operator-restart",
  SHUTDOWN: "shutdown",
  /** A rollout retired it: its revision is being replaced (or reverted). */
  ROLLOUT: "rollout",
  /** Replaced by a fresh slot (the recovery ladder's replace): the fresh one was ready before this one stopped. */
  REPLACED: "replaced",
} as const;
export type StopReason = (typeof StopReason)[keyof typeof StopReason];
export const STOP_REASONS: readonly StopReason[] = Object.values(StopReason);
const STOP_REASON_SET: ReadonlySet<string> = new Set(STOP_REASONS);
export const isStopReason = (r: string): r is StopReason => STOP_REASON_SET.has(r);

/** Why a replica is stopping: a planned stop, or the agent's own kill for a limit (which the restart policy follows). */
export type StoppingReason = StopReason | KillCause;
/** Why a replica is stopped for good: a planned stop, or the restart policy's verdict (mode never, clean exit...). */
export type StoppedReason = StopReason | Reason;
/** How a rolling restart ended (its `message` says the rest: which replica, and why it was not ready). */
export type RollingEndReason = "all-replaced" | "shutting-down" | "replica-not-ready";
/** Why an app's crash-loop verdict changed: the restart policy's reason, or fewer slots after a scale-down. */
export type CrashLoopReason = Reason | "scaled";

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
  /** Why it ended, as the restart policy names it (stop-requested, exit-failure, memory-limit, ...). */
  readonly reason: Reason;
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
  /** The revision it runs (0: none known). */
  readonly revision: number;
  /** The replica's cgroup (limits set or not), null when it has none. */
  readonly usage?: ResourceUsage | null;
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
  | (OfReplica & { readonly type: "starting"; readonly port: number | null; readonly attempt: number; readonly revision: number })
  | (OfReplica & { readonly type: "spawned"; readonly pid: number; readonly startTime: number | null })
  | (OfReplica & { readonly type: "spawn-failed"; readonly message: string })
  | (OfReplica & { readonly type: "ready"; readonly pid: number; readonly port: number | null; readonly afterMs: number })
  | (OfReplica & { readonly type: "not-ready"; readonly pid: number; readonly reason: typeof Reason.READINESS_TIMEOUT; readonly message: string })
  | (OfReplica & { readonly type: "exited"; readonly pid: number; readonly code: number | null; readonly signal: string | null; readonly reason: Reason; readonly upMs: number })
  | (OfReplica & { readonly type: "restarting"; readonly delayMs: number; readonly reason: Reason })
  | (OfReplica & { readonly type: "stopping"; readonly pid: number; readonly signal: string; readonly reason: StoppingReason })
  | (OfReplica & { readonly type: "stopped"; readonly pid: number | null; readonly forced: boolean; readonly reason: StoppedReason })
  | (OfReplica & { readonly type: "adopted"; readonly pid: number; readonly port: number | null; readonly revision: number })
  | (OfReplica & { readonly type: "adopt-rejected"; readonly pid: number; readonly reason: "gone" | "pid-reused" | "unknown-app" | "duplicate"; readonly killed: boolean })
  /** One slot used up its budget: its restarts pause for the cooldown; its siblings go on. */
  | (OfReplica & { readonly type: "replica-crash-loop"; readonly restarts: number; readonly windowMs: number; readonly cooldownMs: number; readonly reason: Reason })
  /** The app-level verdict: `looping` of its `slots` are in crash-loop (a strict majority), each after `restarts` unstable restarts in the window. */
  | (Base & { readonly type: "crash-loop"; readonly looping: number; readonly slots: number; readonly restarts: number; readonly windowMs: number; readonly cooldownMs: number; readonly reason: CrashLoopReason })
  | (Base & { readonly type: "crash-loop-cleared"; readonly reason: CrashLoopReason })
  | (Base & { readonly type: "rolling-restart"; readonly status: "done" | "aborted"; readonly replaced: number; readonly reason: RollingEndReason; readonly message: string })
  | (Base & { readonly type: "error"; readonly message: string });

export interface AdoptRecord {
  readonly app: string;
  readonly id: number;
  readonly pid: number;
  readonly startTime: number;
  readonly port: number | null;
}

/** Part of the procs worker's init state. */
export interface ProcsInit {
  readonly apps: readonly AppSpec[];
  /** Replicas recorded before the agent last stopped: adopted if still alive, else stopped. */
  readonly adopt: readonly AdoptRecord[];
}

/** Supervisor -> procs, one-way. */
export type ToProcs =
  | InitMessage<ProcsInit>
  | { readonly t: "procs.apply"; readonly apps: readonly AppSpec[] }
  | { readonly t: "procs.follow"; readonly app: string; readonly on: boolean }
  /** The supervisor finished a hook the worker asked for (drain before stop, route to a new replica). */
  | { readonly t: "procs.hook-done"; readonly hook: number; readonly error?: string }
  | ToProcsTasks;

/** How a replace ended: the fresh replica's id and port, or why it did not become ready (the old one kept running). */
export type ReplaceResult = { readonly ok: true; readonly replica: number; readonly port: number | null } | { readonly ok: false; readonly reason: string };

export type RollingRestartResult = { readonly ok: true; readonly replaced: number } | { readonly ok: false; readonly replaced: number; readonly reason: string };

/** Supervisor -> procs requests and their replies. */
export type ProcsRequests = {
  // What a rollout asks: start one replica of a given revision beside the others, and retire one (drained, then
  // stopped, its slot freed). The supervisor's deploy runner decides which; procs only carries it out.
  /** A new slot running `spec` (its revision's fields; the rest follows the app). Replies once it is started. */
  readonly "procs.launch": { readonly body: { readonly app: string; readonly spec: AppSpec }; readonly reply: { readonly app: string; readonly replica: number | null } };
  /** Drain (the drain hook), stop and forget one replica. Replies once it is gone. */
  readonly "procs.retire": { readonly body: { readonly app: string; readonly replica: number }; readonly reply: { readonly app: string; readonly replica: number; readonly retired: boolean } };
  readonly "procs.scale": { readonly body: { readonly app: string; readonly replicas: number }; readonly reply: { readonly app: string; readonly replicas: number } };
  readonly "procs.restart-replica": { readonly body: { readonly app: string; readonly replica: number }; readonly reply: { readonly app: string; readonly replica: number } };
  readonly "procs.rolling-restart": { readonly body: { readonly app: string }; readonly reply: RollingRestartResult };
  /** A fresh slot (new id, new port) for one replica: started, ready, routed to, then the old one drained and stopped. */
  readonly "procs.replace": { readonly body: { readonly app: string; readonly replica: number }; readonly reply: ReplaceResult };
  readonly "procs.reset": { readonly body: { readonly app: string }; readonly reply: { readonly app: string } };
  readonly "procs.logs": { readonly body: { readonly app: string; readonly replica?: number; readonly tail: number }; readonly reply: LogLine[] };
  readonly "procs.snapshot": { readonly body: object; readonly reply: AppSnapshot[] };
  /** Takeover: stop supervising every replica without stopping any; a successor agent adopts them. */
  readonly "procs.release": { readonly body: object; readonly reply: { readonly released: number } };
} & ProcsTaskRequests;

/** Procs -> supervisor. */
export type FromProcs =
  | { readonly t: "procs.event"; readonly event: ProcsEvent }
  | { readonly t: "procs.stats"; readonly batch: readonly ReplicaStats[] }
  | { readonly t: "procs.log"; readonly line: LogLine }
  /** Asks the supervisor to act before the worker goes on; answered with procs.hook-done. */
  | { readonly t: "procs.hook"; readonly hook: number; readonly kind: "drain" | "ready"; readonly replica: ReplicaSnapshot }
  | FromProcsTasks;
