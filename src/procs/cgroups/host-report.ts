// What this host lets the agent enforce and run, as the status reports it (/v1/agent, the start log line).
// Detected once per thread: the procs worker enforces with its own detection, the supervisor reports this one;
// both read the same kernel facts of the same process.
import type { LimitsSupport } from "../../protocol/drivers.ts";
import { chooseRuntime } from "../drivers/oci.ts";
import { type CgroupSupport, detectCgroups } from "./detect.ts";

export interface HostDrivers {
  readonly limits: LimitsSupport;
  /** The OCI runtime `runtime: auto` picks here, or why none can run. */
  readonly oci: { readonly runtime: string | null; readonly note?: string };
}

export function limitsOf(s: CgroupSupport): LimitsSupport {
  const enforced: LimitsSupport["enforced"][number][] = [];
  if (s.bases.memory) enforced.push("memory");
  if (s.bases.memory && s.swap) enforced.push("memory_swap");
  if (s.bases.cpu) enforced.push("cpu");
  if (s.bases.pids) enforced.push("pids");
  // RLIMIT_NOFILE is set by the launch shim, with or without cgroups.
  enforced.push("nofile");
  return { cgroup: s.mode, enforced, gaps: s.gaps };
}

let cached: HostDrivers | undefined;

export function hostDrivers(): HostDrivers {
  if (cached) return cached;
  const rt = chooseRuntime("auto");
  cached = { limits: limitsOf(detectCgroups()), oci: "error" in rt ? { runtime: null, note: rt.error } : { runtime: `${rt.name} (${rt.path})` } };
  return cached;
}
