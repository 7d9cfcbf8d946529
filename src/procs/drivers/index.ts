// The drivers this host offers, created once per procs worker over the cgroup support found at start.
import { type CgroupSupport, detectCgroups } from "../cgroups/detect.ts";
import type { Driver } from "./driver.ts";
import { createExecDriver } from "./exec.ts";
import { createOciDriver } from "./oci.ts";

export interface Drivers {
  readonly support: CgroupSupport;
  get(kind: "exec" | "oci"): Driver;
}

export function createDrivers(support: CgroupSupport = detectCgroups()): Drivers {
  const exec = createExecDriver(support);
  const oci = createOciDriver(support);
  return {
    support,
    get: (kind) => (kind === "oci" ? oci : exec),
  };
}

export type { Driver, DriverRun, Launch, RunRequest } from "./driver.ts";
export { DriverError } from "./driver.ts";
