// The task-driver conformance suite: every driver runs the same replica lifecycles through the process manager
// (exit status, graceful and forced stop, the kernel's limits and their reasons). A driver that cannot run a
// case here skips it with a named reason. Commands are plain /bin/sh, present on the host and in the rootfs.
import { describe, expect, test } from "bun:test";
import type { AppSpec } from "../../src/procs/types.ts";
import { harness } from "../unit/procs/harness.ts";
import { waitFor } from "../support/wait-for.ts";

export interface DriverCase {
  readonly name: string;
  /** The spec of an app running `sh -c script` under this driver. */
  spec(name: string, script: string, over?: Partial<AppSpec>): AppSpec;
  /** Case name -> why it is skipped; "*" skips the whole suite. */
  readonly skip?: Readonly<Record<string, string>>;
}

const base = (over: Partial<AppSpec>): Partial<AppSpec> => ({
  replicas: 1,
  restart: { mode: "never" },
  readiness: { kind: "none" },
  stop: { timeoutMs: 1_000 },
  ...over,
});

export function runDriverConformance(d: DriverCase): void {
  const all = d.skip?.["*"];
  const t = (name: string, fn: () => Promise<void>, timeoutMs = 30_000) => {
    const why = all ?? d.skip?.[name];
    if (why) test.skip(`${name} (skipped: ${why})`, fn);
    else test(name, fn, timeoutMs);
  };

  describe(`driver ${d.name}`, () => {
    t("an exit status is reported with its code and reason", async () => {
      await using h = harness();
      await h.pm.apply([d.spec("exit3", "echo STARTED; exit 3", base({}))]);
      const e = await h.waitEvent("exited");
      expect([e.code, e.reason]).toEqual([3, "exit-failure"]);
      await waitFor(() => h.pm.logs("exit3").some((l) => l.line === "STARTED"), { what: "its stdout in the logs" });
    });

    t("a replica that handles the stop signal stops gracefully, not forced", async () => {
      await using h = harness();
      await h.pm.apply([d.spec("graceful", 'trap "exit 0" TERM; echo READY; while :; do sleep 0.1; done', base({ readiness: { kind: "stdout", pattern: "^READY" }, stop: { timeoutMs: 5_000 } }))]);
      await h.waitEvent("ready");
      await h.pm.scale("graceful", 0);
      const s = await h.waitEvent("stopped");
      expect(s.forced).toBe(false);
    });

    t("contrast: one that ignores the stop signal is killed after the stop timeout", async () => {
      await using h = harness();
      await h.pm.apply([d.spec("stubborn", 'trap "" TERM; echo READY; while :; do sleep 0.1; done', base({ readiness: { kind: "stdout", pattern: "^READY" }, stop: { timeoutMs: 300 } }))]);
      await h.waitEvent("ready");
      await h.pm.scale("stubborn", 0);
      const s = await h.waitEvent("stopped");
      expect(s.forced).toBe(true);
      expect(h.replica("stubborn", 0)).toBeUndefined();
    });

    t("a replica over its memory limit is OOM-killed and reported oom-killed", async () => {
      await using h = harness();
      // Doubling a shell string: memory grows fast and without bound.
      await h.pm.apply([d.spec("hog", 'x=a; while :; do x="$x$x"; done', base({ resources: { memoryBytes: 32 << 20, memorySwapBytes: 0 } }))]);
      const e = await h.waitEvent("exited", undefined, 20_000);
      expect(e.reason).toBe("oom-killed");
    });

    t("the open-file limit is the one set", async () => {
      await using h = harness();
      await h.pm.apply([d.spec("nofile", 'echo "NOFILE=$(ulimit -n)"', base({ resources: { nofile: 256 } }))]);
      await waitFor(() => h.pm.logs("nofile").find((l) => l.line.startsWith("NOFILE=")), { what: "the limit printed" });
      expect(h.pm.logs("nofile").find((l) => l.line.startsWith("NOFILE="))?.line).toBe("NOFILE=256");
    });

    t("a limited replica reports its cgroup's usage", async () => {
      await using h = harness();
      await h.pm.apply([d.spec("used", "echo READY; while :; do sleep 0.1; done", base({ readiness: { kind: "stdout", pattern: "^READY" }, resources: { pids: 64, memoryBytes: 64 << 20 } }))]);
      await h.waitEvent("ready");
      // Usage is sampled at each stats tick: one taken while the shim was still joining the groups (memory first,
      // pids last) saw no pid in the pids group. Only a tick after ready reads the replica as it runs.
      const ticks = h.stats.length;
      const u = await waitFor(() => h.stats.length > ticks && (h.replica("used", 0)?.usage ?? undefined), { what: "usage from a stats tick after ready" });
      expect(u.pids).toBeGreaterThan(0);
      expect(u.pids).toBeLessThanOrEqual(64);
      expect(u.memoryBytes).toBeGreaterThan(0);
      expect(u.oomKills).toBe(0);
    });
  });
}
