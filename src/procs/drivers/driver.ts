// The task driver interface: how one replica run is started, signalled, observed and released, whatever runs it
// (a host process for exec, a container for oci). The lifecycle (replica-lifecycle.ts) spawns what a driver
// plans and owns readiness, output, restarts and stop timeouts; a driver owns only what differs per driver.
//
// Contract: start() does every check that can fail before anything is created, and throws a DriverError naming
// the cause (the replica is then reported spawn-failed, nothing else is touched); release() is idempotent and
// runs after the run's processes are gone; signal() and alive() never throw.
import type { ResourceUsage } from "../../protocol/drivers.ts";
import type { ResolvedSpec } from "../spec.ts";

export interface Launch {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
}

export interface RunRequest {
  readonly spec: ResolvedSpec;
  readonly id: number;
  /** The replica's environment as the lifecycle built it (PORT, POLIS_APP, POLIS_REPLICA, POLIS_OWNER, spec env). */
  readonly env: Readonly<Record<string, string>>;
  /** The agent's identity (its log dir): scopes cgroups and container names so two agents never collide. */
  readonly owner: string;
}

export interface DriverRun {
  readonly launch: Launch;
  /** It holds something beyond the process group (a cgroup, a container) to wait for and release after an exit. */
  readonly holds: boolean;
  /** Deliver `sig` to the run (its process group, its container); SIGKILL reaches every process of its cgroup. */
  signal(pgid: number, sig: NodeJS.Signals): void;
  /** Whether any process of the run is left (its group, or anything in its cgroup). */
  alive(pgid: number): boolean;
  /** A cause the exit status does not tell: the kernel OOM-killed a process of the run at its memory limit. */
  exitCause(code: number | null, signal: string | null): "oom-killed" | null;
  /** The run's cgroup counters; null without a cgroup. */
  usage(): ResourceUsage | null;
  /** Pids to sum CPU and RSS over; null = the process group (the default for a host process). */
  members(): number[] | null;
  /** Remove what the run held (cgroup, container state, bundle). */
  release(): Promise<void>;
}

export interface Driver {
  readonly kind: "exec" | "oci";
  start(req: RunRequest): DriverRun;
  /** The run of a process that survived an agent crash (pid = what the lifecycle tracks). */
  adopt(req: RunRequest): DriverRun;
}

export class DriverError extends Error {
  readonly _tag = "DriverError";
  constructor(
    readonly app: string,
    message: string,
  ) {
    super(`${app}: ${message}`);
  }
}
