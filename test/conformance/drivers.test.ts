// Runs the driver conformance suite for exec and for oci (a busybox rootfs built here), skipping what this host
// cannot do with the reason.
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectCgroups } from "../../src/procs/cgroups/detect.ts";
import { chooseRuntime } from "../../src/procs/drivers/oci.ts";
import { buildRootfs } from "../support/oci-rootfs.ts";
import { runDriverConformance } from "./drivers.case.ts";

const support = detectCgroups();
const limitsSkip: Record<string, string> = {};
if (!support.bases.memory) limitsSkip["a replica over its memory limit is OOM-killed and reported oom-killed"] = `no memory controller: ${support.gaps.join("; ")}`;
if (!support.bases.pids) limitsSkip["a limited replica reports its cgroup's usage"] = `no pids controller: ${support.gaps.join("; ")}`;

runDriverConformance({
  name: "exec",
  spec: (name, script, over) => ({ name, command: "/bin/sh", args: ["-c", script], replicas: 1, ...over }),
  skip: limitsSkip,
});

const rt = chooseRuntime("auto");
const rootfs = "error" in rt ? null : buildRootfs();
const state = mkdtempSync(join(tmpdir(), "polis-oci-conf-"));
afterAll(() => {
  if (rootfs && !("skip" in rootfs)) rootfs.remove();
  rmSync(state, { recursive: true, force: true });
});
const ociSkip = "error" in rt ? rt.error : !rootfs || "skip" in rootfs ? (rootfs as { skip: string } | null)?.skip ?? "no rootfs" : support.mode === "none" ? "no writable cgroup" : null;
runDriverConformance({
  name: "oci",
  spec: (name, script, over) => ({
    name,
    command: "/bin/sh",
    args: ["-c", script],
    replicas: 1,
    driver: { kind: "oci", oci: { root: { kind: "rootfs", path: rootfs && !("skip" in rootfs) ? rootfs.dir : "/nonexistent" }, runtime: "auto", stateDir: state, readOnlyRootfs: true, mounts: [], capAdd: [], seccomp: true, secrets: [] } },
    ...over,
  }),
  skip: ociSkip ? { "*": ociSkip } : limitsSkip,
});
