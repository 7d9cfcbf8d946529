// The exec driver: the replica is a host process (its own process group), inside its cgroup when the app sets
// resources. Today's behaviour when it sets none: the command is spawned as is, no shim, no cgroup.
import { groupAlive, signalGroup, signalPid } from "../process-group.ts";
import type { CgroupSupport } from "../cgroups/detect.ts";
import type { Driver, DriverRun, RunRequest } from "./driver.ts";
import { type RunLimits, adoptLimits, prepareLimits } from "./limits.ts";

export function createExecDriver(support: CgroupSupport): Driver {
  const run = (req: RunRequest, limits: RunLimits): DriverRun => {
    const { spec } = req;
    const cg = limits.cgroup;
    return {
      launch: { argv: limits.wrap([spec.command, ...spec.args]), env: req.env, cwd: spec.cwd },
      holds: cg !== null,
      signal(pgid, sig) {
        if (!signalGroup(pgid, sig)) signalPid(pgid, sig);
        // A process that left the group (setsid) is still in the cgroup: a forced stop reaches it there.
        if (sig === "SIGKILL") cg?.killAll();
      },
      alive: (pgid) => groupAlive(pgid) || (cg !== null && cg.members().length > 0),
      exitCause: () => (cg?.oomKilled() ? "oom-killed" : null),
      usage: () => limits.usage(),
      members: () => null,
      async release() {
        cg?.remove();
      },
    };
  };
  return {
    kind: "exec",
    start: (req) => run(req, prepareLimits(support, req.spec.name, req.owner, req.id, req.spec.resources, false)),
    adopt: (req) => run(req, adoptLimits(support, req.spec.name, req.owner, req.id)),
  };
}
