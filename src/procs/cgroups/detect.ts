// Which cgroup hierarchy this host gives us and which limits it lets us enforce, found once at start.
//
// cgroup v2 (one unified tree, controllers listed in cgroup.controllers) is used when it holds the memory
// controller; otherwise each v1 controller's own mount. Replica groups are created under the agent's own
// cgroup in each hierarchy (what a service manager delegated to us), never at the root of someone else's tree.
// Detection reads /proc/self/mounts and /proc/self/cgroup and proves each place writable with a probe
// directory, so "enforced" in the status means the kernel took a mkdir there, not that a file exists.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type CgroupMode = "v2" | "v1" | "none";
export type Controller = "memory" | "cpu" | "cpuacct" | "pids";
const CONTROLLERS: readonly Controller[] = ["memory", "cpu", "cpuacct", "pids"];

export interface CgroupSupport {
  readonly mode: CgroupMode;
  /** v1: per controller, the writable directory replica groups go under; v2: the same dir for every controller. */
  readonly bases: Readonly<Partial<Record<Controller, string>>>;
  /** v1 memory+swap (memory.memsw.*) or v2 memory.swap.max is present. */
  readonly swap: boolean;
  /** What cannot be enforced and why, one sentence per gap; empty when everything is. */
  readonly gaps: readonly string[];
}

export interface DetectInput {
  readonly mounts: string;
  readonly selfCgroup: string;
  /** Prepended to every path (tests point it at a temp dir shaped like /sys/fs/cgroup). */
  readonly fsRoot?: string;
  readonly pid?: number;
}

interface Mount {
  readonly dir: string;
  readonly type: "cgroup" | "cgroup2";
  readonly controllers: readonly string[];
}

function parseMounts(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split("\n")) {
    const [, dir, type, opts] = line.split(" ");
    if (!dir || (type !== "cgroup" && type !== "cgroup2")) continue;
    // /proc/mounts escapes spaces as \040; cgroup mount points never have them in practice, but decode anyway.
    out.push({ dir: dir.replace(/\\040/g, " "), type, controllers: type === "cgroup" ? (opts ?? "").split(",") : [] });
  }
  return out;
}

/** "4:memory:/a/b" lines -> controller (or "" for v2) -> path. */
function parseSelfCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === "") out.set("", m[2]!);
    else for (const c of m[1]!.split(",")) out.set(c, m[2]!);
  }
  return out;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

/** mkdir then rmdir a probe group: the kernel (or a read-only mount, or a missing delegation) has the last word. */
function writable(dir: string, pid: number): string | null {
  const probe = join(dir, `polis-probe-${pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

/**
 * v2 lets a group's children use a controller only once the group enables it in cgroup.subtree_control, and a
 * non-root group holding processes cannot (EBUSY, the "no internal processes" rule). As systemd asks of a
 * delegated service, the agent then moves itself into a leaf `polis-agent` and enables them on its old group.
 */
function delegate(dir: string, pid: number, have: readonly string[]): string | null {
  const want = ["memory", "cpu", "pids"].filter((c) => have.includes(c));
  const enabled = readOr(join(dir, "cgroup.subtree_control"), "").trim().split(/\s+/);
  if (want.every((c) => enabled.includes(c))) return null;
  const line = want.map((c) => `+${c}`).join(" ");
  try {
    writeFileSync(join(dir, "cgroup.subtree_control"), line);
    return null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EBUSY") return `cannot enable ${line}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  try {
    mkdirSync(join(dir, "polis-agent"), { recursive: true });
    writeFileSync(join(dir, "polis-agent", "cgroup.procs"), String(pid));
    writeFileSync(join(dir, "cgroup.subtree_control"), line);
    return null;
  } catch (e) {
    return `cannot delegate ${line} below ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
}

export function detectCgroups(input?: DetectInput): CgroupSupport {
  const mounts = parseMounts(input?.mounts ?? readOr("/proc/self/mounts", ""));
  const self = parseSelfCgroup(input?.selfCgroup ?? readOr("/proc/self/cgroup", ""));
  const root = input?.fsRoot ?? "";
  const pid = input?.pid ?? process.pid;
  const gaps: string[] = [];

  const unified = mounts.find((m) => m.type === "cgroup2");
  if (unified) {
    const dir = (root + join(unified.dir, self.get("") ?? "/")).replace(/\/+$/, "");
    const have = readOr(join(dir, "cgroup.controllers"), "").trim().split(/\s+/);
    if (have.includes("memory")) {
      const why = writable(dir, pid) ?? delegate(dir, pid, have);
      if (why) return { mode: "none", bases: {}, swap: false, gaps: [`cgroup v2 at ${dir} is not usable (${why}): no limit is enforced`] };
      const bases: Partial<Record<Controller, string>> = {};
      for (const c of CONTROLLERS) {
        // v2 folds cpuacct into cpu.stat.
        const name = c === "cpuacct" ? "cpu" : c;
        if (have.includes(name)) bases[c] = dir;
        else if (c !== "cpuacct") gaps.push(`cgroup v2 at ${dir} does not offer the ${c} controller`);
      }
      return { mode: "v2", bases, swap: true, gaps };
    }
  }

  const bases: Partial<Record<Controller, string>> = {};
  let any = false;
  for (const c of CONTROLLERS) {
    const m = mounts.find((x) => x.type === "cgroup" && x.controllers.includes(c));
    if (!m) {
      gaps.push(`no cgroup v1 ${c} hierarchy is mounted`);
      continue;
    }
    any = true;
    const dir = (root + join(m.dir, self.get(c) ?? "/")).replace(/\/+$/, "");
    const why = writable(dir, pid);
    if (why) gaps.push(`cgroup v1 ${c} at ${dir} is not writable (${why})`);
    else bases[c] = dir;
  }
  if (!any && !unified) return { mode: "none", bases: {}, swap: false, gaps: ["no cgroup hierarchy is mounted: no limit is enforced"] };
  if (Object.keys(bases).length === 0) return { mode: "none", bases: {}, swap: false, gaps };
  const swap = bases.memory !== undefined && existsSync(join(bases.memory, "memory.memsw.limit_in_bytes"));
  if (bases.memory && !swap) gaps.push("swap accounting is off (no memory.memsw.*): memory_swap cannot be enforced");
  return { mode: "v1", bases, swap, gaps };
}

/** Which of an app's limits this host can enforce: the ones it cannot, named, for errors and the status. */
export function unenforceable(support: CgroupSupport, want: { cpu?: number; memory?: number; memorySwap?: number; pids?: number }): string[] {
  const out: string[] = [];
  if (want.memory !== undefined && !support.bases.memory) out.push("memory");
  if (want.memorySwap !== undefined && (!support.bases.memory || !support.swap)) out.push("memory_swap");
  if (want.cpu !== undefined && !support.bases.cpu) out.push("cpu");
  if (want.pids !== undefined && !support.bases.pids) out.push("pids");
  return out;
}

/** Writes a cgroup file; the error names the file and value (EINVAL from the kernel says little on its own). */
export function writeKnob(dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value);
  } catch (e) {
    throw new Error(`cannot write ${value.trim()} to ${join(dir, file)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
