// Signals to a whole process group (a detached replica leads its own), and waiting for it to empty.
import { groupMembers, isRunning } from "./proc-stat.ts";

/** kill(-pgid, sig); false when the group is already gone. Never throws. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | number): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function signalPid(pid: number, signal: NodeJS.Signals | number): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Whether any non-zombie process remains in the group. */
export function groupAlive(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}

/** Poll until `alive()` is false or `timeoutMs` passes; resolves true when it emptied. */
export async function waitGone(alive: () => boolean, timeoutMs: number, intervalMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (alive()) {
    if (performance.now() >= deadline) return false;
    await Bun.sleep(intervalMs);
  }
  return true;
}

/** Liveness of a process we did not spawn (adopted): exists, same start time, not a zombie. */
export { isRunning };

/** Await `p` for at most `ms`; true when it settled in time. The timer is cleared either way, so nothing lingers. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
