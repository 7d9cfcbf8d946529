// The one way the procs worker starts a process (replicas and tasks alike): its own process group (so a stop
// reaches the whole tree), stdin closed, stdout and stderr appended to files (so the process never depends on the
// agent reading a pipe and survives an agent restart), our copies of the fds closed once the child has them.
import type { Subprocess } from "bun";
import { closeSync, fstatSync } from "node:fs";
import { openOutputFiles, type OutputPaths } from "./output-tail.ts";
import { readProcStat } from "./proc-stat.ts";

export interface SpawnRequest {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env: Record<string, string | undefined>;
  readonly dir: string;
  readonly paths: OutputPaths;
  /** Empty the output files first (a task attempt keeps only its own output); else append (a replica's log). */
  readonly fresh?: boolean;
}

export interface Spawned {
  readonly proc: Subprocess<"ignore", number, number>;
  readonly pid: number;
  /** /proc start time: with the pid, it names this process. */
  readonly startTime: number | null;
  /** Sizes of the output files before this run: its own lines start there. */
  readonly from: { readonly stdout: number; readonly stderr: number };
}

/** Why a spawn failed: the output files could not be opened (a full disk, permissions), or the exec failed. */
export class SpawnError extends Error {
  readonly _tag = "SpawnError";
  constructor(
    readonly stage: "output" | "spawn",
    message: string,
  ) {
    super(message);
  }
}

export function spawnDetached(req: SpawnRequest): Spawned {
  let fds: { stdout: number; stderr: number };
  try {
    fds = openOutputFiles(req.dir, req.paths, req.fresh === true);
  } catch (e) {
    throw new SpawnError("output", `cannot open output files: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    const from = req.fresh ? { stdout: 0, stderr: 0 } : { stdout: fstatSync(fds.stdout).size, stderr: fstatSync(fds.stderr).size };
    const proc = Bun.spawn([req.command, ...req.args], { cwd: req.cwd, env: req.env, stdin: "ignore", stdout: fds.stdout, stderr: fds.stderr, detached: true });
    return { proc, pid: proc.pid, startTime: readProcStat(proc.pid)?.startTime ?? null, from };
  } catch (e) {
    throw new SpawnError("spawn", e instanceof Error ? e.message : String(e));
  } finally {
    // The child has its own copies now; ours would only leak.
    closeSync(fds.stdout);
    closeSync(fds.stderr);
  }
}
