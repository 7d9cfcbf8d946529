// Bad input to a driver fails the replica's start with an error naming the app and the cause, before anything
// (cgroup, bundle) is created; without `required`, limits the host cannot enforce are not an error.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { CgroupSupport } from "../../../../src/procs/cgroups/detect.ts";
import { DriverError } from "../../../../src/procs/drivers/driver.ts";
import { prepareLimits } from "../../../../src/procs/drivers/limits.ts";
import { chooseRuntime, createOciDriver } from "../../../../src/procs/drivers/oci.ts";
import { resolveSpec } from "../../../../src/procs/spec.ts";

const NONE: CgroupSupport = { mode: "none", bases: {}, swap: false, gaps: ["no cgroup hierarchy is mounted: no limit is enforced"] };

describe("driver errors", () => {
  test("required limits on a host that cannot enforce them refuse the replica, naming the limits and why", () => {
    expect(() => prepareLimits(NONE, "api", "/owner", 0, { memoryBytes: 1 << 26, pids: 10, required: true }, false)).toThrow(
      "api: resources.required is set but this host cannot enforce memory, pids (no cgroup hierarchy is mounted: no limit is enforced)",
    );
  });

  test("contrast: without required it runs unconfined by cgroups, but still with its open-file limit", () => {
    const l = prepareLimits(NONE, "api", "/owner", 0, { memoryBytes: 1 << 26, nofile: 1024 }, false);
    expect(l.cgroup).toBeNull();
    expect(l.wrap(["/bin/app", "x"])).toEqual(["/bin/sh", "-c", 'ulimit -n 1024 && exec "$@"', "polis-limits", "/bin/app", "x"]);
    // No limit at all: the command as is, no shim.
    expect(prepareLimits(NONE, "api", "/owner", 0, undefined, false).wrap(["/bin/app"])).toEqual(["/bin/app"]);
  });

  test("an oci app whose runtime is missing, or whose rootfs is not a directory, fails with the cause", () => {
    const oci = (runtime: "runc" | "auto", rootfs: string) =>
      resolveSpec({ name: "box", command: "/bin/sh", replicas: 1, driver: { kind: "oci", oci: { root: { kind: "rootfs", path: rootfs }, runtime, stateDir: "/tmp/never", readOnlyRootfs: true, mounts: [], capAdd: [], seccomp: true, secrets: [] } } });
    const nothing = () => null;
    const d = createOciDriver(NONE, nothing);
    const req = (spec: ReturnType<typeof oci>) => ({ spec, id: 0, env: {}, owner: "/owner" });
    expect(() => d.start(req(oci("runc", "/")))).toThrow("box: runtime runc is not installed (apt-get install runc)");
    expect(() => d.start(req(oci("auto", "/")))).toThrow("box: no OCI runtime is installed (apt-get install crun or runc)");
    const found = createOciDriver(NONE, (bin) => `/usr/bin/${bin}`);
    let err: unknown;
    try {
      found.start(req(oci("auto", "/nonexistent/rootfs")));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DriverError);
    expect((err as Error).message).toBe("box: oci.rootfs /nonexistent/rootfs is not a directory");
    // A secret whose source is missing: named with its source, before anything is created.
    const withSecret = (from: { kind: "file"; path: string } | { kind: "env"; name: string }) => {
      const s = oci("auto", "/");
      if (s.driver.kind !== "oci") throw new Error("oci");
      return { ...s, driver: { kind: "oci" as const, oci: { ...s.driver.oci, secrets: [{ name: "pw", from }] } } };
    };
    expect(() => found.start(req(withSecret({ kind: "file", path: "/nonexistent/pw" })))).toThrow("box: secret pw: cannot read /nonexistent/pw (ENOENT)");
    expect(() => found.start(req(withSecret({ kind: "env", name: "POLIS_TEST_NO_SUCH_VAR" })))).toThrow("box: secret pw: the agent's environment has no POLIS_TEST_NO_SUCH_VAR");
    expect(existsSync("/tmp/never")).toBe(false);
  });

  test("runtime auto prefers crun, and takes runc where crun cannot run (hybrid cgroups with a v2 controller)", () => {
    const both = (bin: string) => `/usr/bin/${bin}`;
    expect(chooseRuntime("auto", both, "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n")).toEqual({ name: "crun", path: "/usr/bin/crun" });
    expect(chooseRuntime("auto", (b) => (b === "runc" ? "/usr/sbin/runc" : null), "")).toEqual({ name: "runc", path: "/usr/sbin/runc" });
  });
});
