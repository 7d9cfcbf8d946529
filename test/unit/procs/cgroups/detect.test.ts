// Cgroup detection and a replica group's files, on directory trees shaped like /sys/fs/cgroup (cgroup v2 only,
// v1 with joined controllers, nothing mounted): the layouts a fresh host may have that this one does not.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectCgroups, unenforceable } from "../../../../src/procs/cgroups/detect.ts";
import { ReplicaCgroup } from "../../../../src/procs/cgroups/replica-group.ts";

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "polis-cgfs-"));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe("cgroup detection", () => {
  test("cgroup v2 only: the agent's own group, every controller, and delegation enabled for its children", () => {
    const root = tree({
      "sys/fs/cgroup/system.slice/polis.service/cgroup.controllers": "cpuset cpu io memory pids\n",
      "sys/fs/cgroup/system.slice/polis.service/cgroup.subtree_control": "",
    });
    const s = detectCgroups({ mounts: "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n", selfCgroup: "0::/system.slice/polis.service\n", fsRoot: root, pid: 1 });
    const own = join(root, "sys/fs/cgroup/system.slice/polis.service");
    expect(s).toEqual({ mode: "v2", bases: { memory: own, cpu: own, cpuacct: own, pids: own }, swap: true, gaps: [] });
    expect(readFileSync(join(own, "cgroup.subtree_control"), "utf8")).toBe("+memory +cpu +pids");
    expect(unenforceable(s, { cpu: 1, memory: 1, pids: 1 })).toEqual([]);
  });

  test("cgroup v2 limits are written as memory.max, memory.swap.max, cpu.max and pids.max", () => {
    const root = tree({ "cg/cgroup.controllers": "cpu memory pids\n", "cg/cgroup.subtree_control": "+memory +cpu +pids" });
    const s = detectCgroups({ mounts: "cgroup2 /cg cgroup2 rw 0 0\n", selfCgroup: "0::/\n", fsRoot: root, pid: 1 });
    // A real cgroup2 directory comes with its files; a plain one gets them from our writes (swap.max must exist).
    mkdirSync(join(root, "cg/scope/web-0"), { recursive: true });
    writeFileSync(join(root, "cg/scope/web-0/memory.swap.max"), "max");
    const g = ReplicaCgroup.create(s, "scope", "web-0", { cpu: 0.5, memoryBytes: 256 << 20, memorySwapBytes: 0, pids: 512 });
    const read = (f: string) => readFileSync(join(root, "cg/scope/web-0", f), "utf8");
    expect([read("memory.max"), read("memory.swap.max"), read("cpu.max"), read("pids.max")]).toEqual([String(256 << 20), "0", "50000 100000", "512"]);
    expect(g.procsFiles()).toEqual([join(root, "cg/scope/web-0/cgroup.procs")]);
    writeFileSync(join(root, "cg/scope/web-0/memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    writeFileSync(join(root, "cg/scope/web-0/cpu.stat"), "usage_usec 2500\nnr_periods 40\nnr_throttled 30\nthrottled_usec 9000\n");
    expect(g.oomKilled()).toBe(true);
    expect(g.usage()).toMatchObject({ cpuUsageUs: 2500, periods: 40, throttledPeriods: 30, throttledUs: 9000, oomKills: 1 });
  });

  test("cgroup v1 with cpu and cpuacct mounted together: each controller under the agent's own path", () => {
    const root = tree({
      "sys/fs/cgroup/memory/agent/memory.memsw.limit_in_bytes": "-1",
      "sys/fs/cgroup/cpu,cpuacct/agent/cpu.cfs_quota_us": "-1",
      "sys/fs/cgroup/pids/agent/pids.max": "max",
    });
    const mounts = [
      "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0",
      "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0",
      "cgroup /sys/fs/cgroup/pids cgroup rw,nosuid,nodev,noexec,relatime,pids 0 0",
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0",
    ].join("\n");
    const s = detectCgroups({ mounts, selfCgroup: "5:pids:/agent\n4:cpu,cpuacct:/agent\n3:memory:/agent\n0::/\n", fsRoot: root, pid: 1 });
    expect(s.mode).toBe("v1");
    expect(s.bases).toEqual({
      memory: join(root, "sys/fs/cgroup/memory/agent"),
      cpu: join(root, "sys/fs/cgroup/cpu,cpuacct/agent"),
      cpuacct: join(root, "sys/fs/cgroup/cpu,cpuacct/agent"),
      pids: join(root, "sys/fs/cgroup/pids/agent"),
    });
    expect(s.swap).toBe(true);
    expect(s.gaps).toEqual([]);
  });

  test("contrast: v1 without swap accounting says memory_swap cannot be enforced", () => {
    const root = tree({ "sys/fs/cgroup/memory/x": "" });
    const s = detectCgroups({ mounts: "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n", selfCgroup: "3:memory:/\n", fsRoot: root, pid: 1 });
    expect(s.mode).toBe("v1");
    expect(s.gaps).toContain("swap accounting is off (no memory.memsw.*): memory_swap cannot be enforced");
    expect(s.gaps).toContain("no cgroup v1 pids hierarchy is mounted");
    expect(unenforceable(s, { memory: 1, memorySwap: 0, pids: 10, cpu: 1 })).toEqual(["memory_swap", "cpu", "pids"]);
  });

  test("no cgroup mounted: nothing is enforced, and it says so", () => {
    const s = detectCgroups({ mounts: "proc /proc proc rw 0 0\n", selfCgroup: "", fsRoot: "/nonexistent", pid: 1 });
    expect(s).toEqual({ mode: "none", bases: {}, swap: false, gaps: ["no cgroup hierarchy is mounted: no limit is enforced"] });
    expect(unenforceable(s, { memory: 1 })).toEqual(["memory"]);
  });
});
