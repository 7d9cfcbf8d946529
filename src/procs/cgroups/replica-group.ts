// One replica's cgroup: created with its limits before the replica starts, joined by the replica's first process
// before it execs (so nothing it forks escapes), read for OOM kills, throttling and usage, and removed after.
//
// The kernel enforces the limits: memory over its limit is reclaimed and then OOM-killed inside the group only,
// CPU is throttled to its quota every period, fork() fails past the pids limit. Nothing here polls to enforce.
// A container runtime started inside the group nests its own child group; limits set here bound it too.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import type { CgroupSupport, Controller } from "./detect.ts";
import { writeKnob } from "./detect.ts";

/** The CFS period: 100 ms is the kernel's default, and a quota of cpu × period throttles within one period. */
export const CPU_PERIOD_US = 100_000;

export interface Limits {
  /** Cores (0.5 = half of one core). */
  readonly cpu?: number;
  readonly memoryBytes?: number;
  /** Swap on top of memory (0 = none). */
  readonly memorySwapBytes?: number;
  readonly pids?: number;
}

export interface GroupUsage {
  readonly memoryBytes: number;
  /** CPU time used by the group, all of it (µs). */
  readonly cpuUsageUs: number | null;
  readonly throttledUs: number;
  readonly throttledPeriods: number;
  readonly periods: number;
  readonly pids: number;
  /** How often fork() was refused at the pids limit. */
  readonly pidsLimitHits: number;
  readonly oomKills: number;
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** "key value" lines -> number for `key`, or 0. */
function field(text: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

function num(text: string): number {
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : 0;
}

/** Scope directories this process created: removed (when empty) as the manager stops. */
const scopes = new Set<string>();

/** rmdir every scope we created that is empty now; a scope with a live group left stays. */
export function removeScopes(): void {
  for (const dir of scopes) {
    try {
      rmdirSync(dir);
      scopes.delete(dir);
    } catch {
      // Not empty (a replica released to a successor) or gone already.
    }
  }
}

export class ReplicaCgroup {
  /** Controller -> this replica's directory in its hierarchy (one dir for every controller on v2). */
  private constructor(
    private readonly support: CgroupSupport,
    readonly dirs: ReadonlyMap<Controller, string>,
    private readonly oomBaseline: number,
    private readonly limitBaseline = 0,
  ) {}

  /**
   * Create (or reuse, when a previous run's group could not be removed yet) the group `<base>/<scope>/<name>` in
   * every hierarchy with a controller we use, and write the limits. Throws with the file and value on failure,
   * after removing what it created.
   */
  static create(support: CgroupSupport, scope: string, name: string, limits: Limits): ReplicaCgroup {
    const dirs = new Map<Controller, string>();
    for (const [c, base] of Object.entries(support.bases) as Array<[Controller, string]>) {
      // A cpu group of its own changes how the scheduler shares the host (one group's weight for all its threads):
      // joined only to set a quota. cpuacct (accounting only) is joined anyway.
      if (c === "cpu" && limits.cpu === undefined && support.mode === "v1") continue;
      const dir = join(base, scope, name);
      if (!existsSync(dir)) {
        mkdirSync(join(base, scope), { recursive: true });
        scopes.add(join(base, scope));
        if (support.mode === "v2") enableControllers(join(base, scope), base);
        mkdirSync(dir, { recursive: true });
      }
      dirs.set(c, dir);
    }
    const g = new ReplicaCgroup(support, dirs, 0);
    try {
      g.apply(limits);
    } catch (e) {
      g.remove();
      throw e;
    }
    return new ReplicaCgroup(support, dirs, g.oomKills(), g.limitHits());
  }

  /** The group of an adopted replica: the same path, whatever limits it was started with. */
  static existing(support: CgroupSupport, scope: string, name: string): ReplicaCgroup | null {
    const dirs = new Map<Controller, string>();
    for (const [c, base] of Object.entries(support.bases) as Array<[Controller, string]>) {
      const dir = join(base, scope, name);
      if (!existsSync(dir)) continue;
      dirs.set(c, dir);
      // An adopted group's scope is this agent's now, to remove when it stops.
      scopes.add(join(base, scope));
    }
    if (dirs.size === 0) return null;
    const g = new ReplicaCgroup(support, dirs, 0);
    return new ReplicaCgroup(support, dirs, g.oomKills(), g.limitHits());
  }

  private apply(l: Limits): void {
    const mem = this.dirs.get("memory");
    const cpu = this.dirs.get("cpu");
    const pids = this.dirs.get("pids");
    if (this.support.mode === "v2") {
      if (mem) {
        writeKnob(mem, "memory.max", l.memoryBytes !== undefined ? String(l.memoryBytes) : "max");
        if (existsSync(join(mem, "memory.swap.max"))) writeKnob(mem, "memory.swap.max", l.memorySwapBytes !== undefined ? String(l.memorySwapBytes) : "max");
      }
      if (cpu) writeKnob(cpu, "cpu.max", l.cpu !== undefined ? `${Math.max(1000, Math.round(l.cpu * CPU_PERIOD_US))} ${CPU_PERIOD_US}` : `max ${CPU_PERIOD_US}`);
      if (pids) writeKnob(pids, "pids.max", l.pids !== undefined ? String(l.pids) : "max");
      return;
    }
    if (mem) {
      const unlimited = "-1";
      // memsw must stay >= the memory limit: lift it first, set memory, then bring memsw down to memory + swap.
      const memsw = this.support.swap;
      if (memsw) writeKnob(mem, "memory.memsw.limit_in_bytes", unlimited);
      writeKnob(mem, "memory.limit_in_bytes", l.memoryBytes !== undefined ? String(l.memoryBytes) : unlimited);
      // A reused group (its last run's removal raced a straggler) must not carry that run's peak.
      if (existsSync(join(mem, "memory.max_usage_in_bytes"))) writeKnob(mem, "memory.max_usage_in_bytes", "0");
      if (memsw && l.memoryBytes !== undefined && l.memorySwapBytes !== undefined) {
        writeKnob(mem, "memory.memsw.limit_in_bytes", String(l.memoryBytes + l.memorySwapBytes));
      }
    }
    if (cpu) {
      writeKnob(cpu, "cpu.cfs_period_us", String(CPU_PERIOD_US));
      writeKnob(cpu, "cpu.cfs_quota_us", l.cpu !== undefined ? String(Math.max(1000, Math.round(l.cpu * CPU_PERIOD_US))) : "-1");
    }
    if (pids) writeKnob(pids, "pids.max", l.pids !== undefined ? String(l.pids) : "max");
  }

  /** The cgroup.procs files the replica's first process writes itself into (`echo 0 >` moves the writer). */
  procsFiles(): string[] {
    return [...new Set(this.dirs.values())].map((d) => join(d, "cgroup.procs"));
  }

  /** OOM kills in this group since it was created or adopted. */
  oomKilled(): boolean {
    return this.oomKills() > this.oomBaseline;
  }

  /**
   * Whether usage reached the memory limit since the start. On v1 the OOM counter is kept by the group of the
   * killed process only (a runtime's nested group, gone with the container), so for a container the verdict
   * is this plus a SIGKILL death; v2 counts OOM kills hierarchically and needs no such inference.
   */
  memoryLimitHit(): boolean {
    if (this.limitHits() > this.limitBaseline) return true;
    const mem = this.dirs.get("memory");
    if (!mem || this.support.mode === "v2") return false;
    // With memory+swap equal to memory (memory_swap: 0) the kernel may kill without counting a failure; the
    // peak reaching the limit says the same (the peak is reset when the group is set up).
    const limit = num(read(join(mem, "memory.limit_in_bytes")));
    return limit > 0 && limit < 2 ** 62 && num(read(join(mem, "memory.max_usage_in_bytes"))) >= limit;
  }

  private limitHits(): number {
    const mem = this.dirs.get("memory");
    if (!mem) return 0;
    if (this.support.mode === "v2") return field(read(join(mem, "memory.events")), "max");
    // With memory_swap set, memory+swap is the counter that hits its limit first.
    return num(read(join(mem, "memory.failcnt"))) + num(read(join(mem, "memory.memsw.failcnt")));
  }

  private oomKills(): number {
    const mem = this.dirs.get("memory");
    if (!mem) return 0;
    return this.support.mode === "v2" ? field(read(join(mem, "memory.events")), "oom_kill") : field(read(join(mem, "memory.oom_control")), "oom_kill");
  }

  usage(): GroupUsage {
    const mem = this.dirs.get("memory");
    const cpu = this.dirs.get("cpu");
    const acct = this.dirs.get("cpuacct");
    const pids = this.dirs.get("pids");
    const cpuStat = cpu ? read(join(cpu, "cpu.stat")) : "";
    if (this.support.mode === "v2") {
      return {
        memoryBytes: mem ? num(read(join(mem, "memory.current"))) : 0,
        cpuUsageUs: cpu ? field(cpuStat, "usage_usec") : null,
        throttledUs: field(cpuStat, "throttled_usec"),
        throttledPeriods: field(cpuStat, "nr_throttled"),
        periods: field(cpuStat, "nr_periods"),
        pids: pids ? num(read(join(pids, "pids.current"))) : 0,
        pidsLimitHits: pids ? field(read(join(pids, "pids.events")), "max") : 0,
        oomKills: this.oomKills() - this.oomBaseline,
      };
    }
    return {
      memoryBytes: mem ? num(read(join(mem, "memory.usage_in_bytes"))) : 0,
      cpuUsageUs: acct ? Math.round(num(read(join(acct, "cpuacct.usage"))) / 1000) : null,
      throttledUs: Math.round(field(cpuStat, "throttled_time") / 1000),
      throttledPeriods: field(cpuStat, "nr_throttled"),
      periods: field(cpuStat, "nr_periods"),
      pids: pids ? num(read(join(pids, "pids.current"))) : 0,
      pidsLimitHits: pids ? field(read(join(pids, "pids.events")), "max") : 0,
      oomKills: this.oomKills() - this.oomBaseline,
    };
  }

  /** Every process in the group and the groups nested in it (a runtime's container group). */
  members(): number[] {
    const out = new Set<number>();
    for (const d of new Set(this.dirs.values())) collect(d, out, 0);
    return [...out];
  }

  /** SIGKILL every member: the forced end of a stop, reaching processes outside the replica's process group. */
  killAll(): number {
    let n = 0;
    // v1 has no cgroup.kill; a fork racing the loop is caught by the next pass (the caller repeats until empty).
    for (const pid of this.members()) {
      try {
        process.kill(pid, "SIGKILL");
        n++;
      } catch {
        // Already gone.
      }
    }
    return n;
  }

  /** Remove the group (nested groups first); false while a member is left. Idempotent. */
  remove(): boolean {
    let ok = true;
    for (const d of new Set(this.dirs.values())) ok = removeTree(d, 0) && ok;
    return ok;
  }
}

/** v2: a child only gets the controllers its parent enables for its subtree. */
function enableControllers(scopeDir: string, base: string): void {
  const want = read(join(base, "cgroup.controllers")).trim().split(/\s+/).filter((c) => c === "memory" || c === "cpu" || c === "pids");
  if (want.length === 0) return;
  const line = want.map((c) => `+${c}`).join(" ");
  // The base is the agent's own group: it may refuse (processes in it); then the scope still works if the
  // base already delegates them. The scope itself holds no process, so enabling there always may succeed.
  try {
    writeKnob(base, "cgroup.subtree_control", line);
  } catch {
    // Checked below by the scope's own controllers.
  }
  writeKnob(scopeDir, "cgroup.subtree_control", line);
}

const MAX_DEPTH = 4;

function collect(dir: string, out: Set<number>, depth: number): void {
  for (const l of read(join(dir, "cgroup.procs")).split("\n")) if (l) out.add(Number(l));
  if (depth >= MAX_DEPTH) return;
  for (const sub of subdirs(dir)) collect(join(dir, sub), out, depth + 1);
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

function removeTree(dir: string, depth: number): boolean {
  if (!existsSync(dir)) return true;
  if (depth < MAX_DEPTH) for (const sub of subdirs(dir)) removeTree(join(dir, sub), depth + 1);
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}
