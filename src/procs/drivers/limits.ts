// Resource limits shared by every driver: the replica's cgroup, and the shim that puts the first process in it.
//
// Bun.spawn has no pre-exec hook, and moving a pid after spawn races its first fork. So the first process is
// /bin/sh, which writes itself into the group's cgroup.procs files (`echo 0 >` moves the writer), sets
// RLIMIT_NOFILE, then execs the real command: the pid, process group and environment stay the replica's, and
// nothing it starts is ever outside its limits. A failed write aborts before exec (exit 2, the error on
// stderr), so a replica never runs unconfined by accident. The shim costs one sh start (~1 ms).
import { createHash } from "node:crypto";
import type { ResourceUsage, ResourcesSpec } from "../../protocol/drivers.ts";
import type { CgroupSupport } from "../cgroups/detect.ts";
import { unenforceable } from "../cgroups/detect.ts";
import { ReplicaCgroup } from "../cgroups/replica-group.ts";
import { DriverError } from "./driver.ts";

export const SHIM = "/bin/sh";

/** One agent's groups live under `polis-<hash of its owner>`, so agents sharing a host never touch each other's. */
export function scopeOf(owner: string): string {
  return `polis-${createHash("sha256").update(owner).digest("hex").slice(0, 12)}`;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface RunLimits {
  readonly cgroup: ReplicaCgroup | null;
  wrap(argv: readonly string[]): string[];
  usage(): ResourceUsage | null;
}

/**
 * The limits of one run: a cgroup when the app sets resources or the driver always wants one (oci: to reach
 * every container process), else none. Throws DriverError when `required` limits cannot be enforced here.
 */
export function prepareLimits(support: CgroupSupport, app: string, owner: string, id: number, res: ResourcesSpec | undefined, always: boolean): RunLimits {
  const want = { cpu: res?.cpu, memory: res?.memoryBytes, memorySwap: res?.memorySwapBytes, pids: res?.pids };
  const missing = unenforceable(support, want);
  if (missing.length > 0 && res?.required) {
    throw new DriverError(app, `resources.required is set but this host cannot enforce ${missing.join(", ")} (${support.gaps.join("; ") || "no cgroup"})`);
  }
  const limited = want.cpu !== undefined || want.memory !== undefined || want.pids !== undefined;
  let cgroup: ReplicaCgroup | null = null;
  if ((limited || always) && support.mode !== "none") {
    try {
      cgroup = ReplicaCgroup.create(support, scopeOf(owner), `${app}-${id}`, {
        ...(want.cpu !== undefined && support.bases.cpu ? { cpu: want.cpu } : {}),
        ...(want.memory !== undefined && support.bases.memory ? { memoryBytes: want.memory } : {}),
        ...(want.memorySwap !== undefined && support.swap ? { memorySwapBytes: want.memorySwap } : {}),
        ...(want.pids !== undefined && support.bases.pids ? { pids: want.pids } : {}),
      });
    } catch (e) {
      throw new DriverError(app, `cannot set up the cgroup of replica ${id}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const nofile = res?.nofile;
  const files = cgroup?.procsFiles() ?? [];
  return {
    cgroup,
    wrap(argv) {
      if (files.length === 0 && nofile === undefined) return [...argv];
      const steps = files.map((f) => `echo 0 > ${quote(f)}`);
      if (nofile !== undefined) steps.push(`ulimit -n ${nofile}`);
      return [SHIM, "-c", `${steps.join(" && ")} && exec "$@"`, "polis-limits", ...argv];
    },
    usage: () => usageOf(cgroup),
  };
}

function usageOf(cgroup: ReplicaCgroup | null): ResourceUsage | null {
  if (!cgroup) return null;
  const u = cgroup.usage();
  return {
    memoryBytes: u.memoryBytes,
    cpuUsageMs: u.cpuUsageUs === null ? null : Math.round(u.cpuUsageUs / 1000),
    throttledMs: Math.round(u.throttledUs / 1000),
    throttledPeriods: u.throttledPeriods,
    periods: u.periods,
    pids: u.pids,
    pidsLimitHits: u.pidsLimitHits,
    oomKills: u.oomKills,
  };
}

/** The group of an adopted run (same path as when it started), for its usage, OOM verdict and forced kill. */
export function adoptLimits(support: CgroupSupport, app: string, owner: string, id: number): RunLimits {
  const cgroup = support.mode === "none" ? null : ReplicaCgroup.existing(support, scopeOf(owner), `${app}-${id}`);
  return {
    cgroup,
    wrap: (argv) => [...argv],
    usage: () => usageOf(cgroup),
  };
}
