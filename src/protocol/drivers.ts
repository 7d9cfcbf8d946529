// Wire shapes of task drivers and resource limits: what an app spec asks for (driver, resources) and what the
// procs worker reports back per replica (usage of its cgroup) and for the host (which limits it can enforce).
// Included by procs.ts; config maps to these in src/config/drivers.ts.

/** Kernel-enforced limits of every replica of an app (one cgroup per replica). */
export interface ResourcesSpec {
  /** Cores, e.g. 0.5: CFS quota of cpu × 100 ms per 100 ms period. */
  readonly cpu?: number;
  readonly memoryBytes?: number;
  /** Swap allowed on top of memory; 0 = none. */
  readonly memorySwapBytes?: number;
  readonly pids?: number;
  /** RLIMIT_NOFILE (soft and hard). */
  readonly nofile?: number;
  /** Refuse to start a replica whose limits this host cannot enforce (instead of running it unconfined). */
  readonly required?: boolean;
}

export interface OciMount {
  /** Host path for a bind mount; absent for tmpfs. */
  readonly source?: string;
  readonly target: string;
  readonly readOnly: boolean;
  readonly tmpfs?: { readonly sizeBytes?: number };
}

export interface OciSpec {
  /** The container's root filesystem: a directory, or an OCI image (layout directory or archive) to unpack. */
  readonly root: { readonly kind: "rootfs"; readonly path: string } | { readonly kind: "image"; readonly image: string };
  /** crun or runc; auto picks crun unless this host's cgroup layout stops it (then runc). */
  readonly runtime: "auto" | "crun" | "runc";
  /** Where bundles (config.json) and the runtime's state go: under the agent's data dir. */
  readonly stateDir: string;
  readonly user?: { readonly uid: number; readonly gid: number };
  readonly readOnlyRootfs: boolean;
  readonly mounts: readonly OciMount[];
  /** Capabilities added to the default set (CAP_ names). */
  readonly capAdd: readonly string[];
  /** The default seccomp profile (a deny list of syscalls a service never needs); off only when asked. */
  readonly seccomp: boolean;
  /** Files under /run/secrets in the container, written to a host tmpfs at each start (never in config.json). */
  readonly secrets: readonly OciSecret[];
}

export interface OciSecret {
  /** The file name under /run/secrets. */
  readonly name: string;
  /** A host file read at each start, or a variable of the agent's own environment. */
  readonly from: { readonly kind: "file"; readonly path: string } | { readonly kind: "env"; readonly name: string };
}

export type DriverSpec = { readonly kind: "exec" } | { readonly kind: "oci"; readonly oci: OciSpec };

/** One replica's cgroup, read at each stats tick. */
export interface ResourceUsage {
  readonly memoryBytes: number;
  /** CPU time the replica's group used since it started (ms); null where the hierarchy has no cpu accounting. */
  readonly cpuUsageMs: number | null;
  /** Time the group waited because it used its CPU quota (ms), and in how many periods. */
  readonly throttledMs: number;
  readonly throttledPeriods: number;
  /** CFS periods elapsed with the group runnable: at most quota × periods of CPU can have been used. */
  readonly periods: number;
  readonly pids: number;
  /** fork()/clone() calls refused at the pids limit. */
  readonly pidsLimitHits: number;
  readonly oomKills: number;
}

/** What the host lets the agent enforce, found once at start (reported in /v1/agent). */
export interface LimitsSupport {
  readonly cgroup: "v2" | "v1" | "none";
  readonly enforced: readonly ("memory" | "memory_swap" | "cpu" | "pids" | "nofile")[];
  readonly gaps: readonly string[];
}
