// The task model (Nomad batch jobs; systemd timers for the periodic ones): what runs, how it is retried and
// limited, and the record of every attempt. Plain data, persisted as JSON and shown by the API (env redacted).
export type TaskPriority = "low" | "medium" | "high" | "critical";
export const PRIORITIES: readonly TaskPriority[] = ["low", "medium", "high", "critical"];

/**
 *   queued --start--> starting --spawned--> running --exit 0--> succeeded
 *                                               \--exit != 0 / spawn failed--> failed (or queued again: retry)
 *                                               \--timeout--> timed_out (or retry)   \--cancel--> cancelled
 *   running when the agent died: adopted if its process still runs, else lost (then retried per its policy)
 */
export type TaskState = "queued" | "starting" | "running" | "succeeded" | "failed" | "timed_out" | "cancelled" | "lost";
export const FINISHED: ReadonlySet<TaskState> = new Set(["succeeded", "failed", "timed_out", "cancelled"]);

export interface TaskSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly priority: TaskPriority;
  /** 0: no timeout. */
  readonly timeoutMs: number;
  readonly retries: { readonly max: number; readonly backoffMs: number; readonly maxBackoffMs: number };
  /** At most `concurrencyLimit` tasks of one key run at once. */
  readonly concurrencyKey?: string;
  readonly concurrencyLimit: number;
  /** Graceful stop on cancel/timeout: SIGTERM to the group, SIGKILL after this. */
  readonly killTimeoutMs: number;
  /** Output kept per stream (the first bytes); the rest is counted. */
  readonly outputLimit: number;
  /** The config definition this run came from (scheduled or executed by name). */
  readonly definition?: string;
  readonly params?: Readonly<Record<string, string>>;
}

export interface TaskAttempt {
  readonly attempt: number;
  readonly startedAt: number;
  finishedAt?: number;
  pid?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** Why it ended: exited, spawn-failed, timeout, cancelled, lost, adopted-exit-unknown. */
  outcome?: string;
  /** Followed across an agent restart (its process outlived the agent that started it). */
  adopted?: boolean;
  message?: string;
}

export interface OutputInfo {
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly stdoutCaptured: number;
  readonly stderrCaptured: number;
}

export interface Task {
  readonly id: string;
  readonly spec: TaskSpec;
  state: TaskState;
  /** Order of arrival: FIFO within a priority. */
  readonly seq: number;
  readonly createdAt: number;
  /** When it last entered the queue (aging counts from here). */
  queuedAt: number;
  /** A retry waits for its backoff: not started before this. */
  notBefore: number;
  startedAt?: number;
  finishedAt?: number;
  pid?: number;
  /** /proc start time of pid: with it, the pid names this process (adoption). */
  pidStartTime?: number;
  exitCode?: number | null;
  signal?: string | null;
  reason?: string;
  attempts: TaskAttempt[];
  output?: OutputInfo;
  /** Cancel asked while running: the kill is on its way. */
  cancelRequested?: boolean;
  /** Deadline of the running attempt (wall ms), when it has a timeout. */
  deadline?: number;
}
