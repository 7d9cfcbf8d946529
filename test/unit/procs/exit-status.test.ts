// The exit status of processes that are not our child: a zombie's from /proc, a reaped one's from its pidfd.
import { describe, expect, test } from "bun:test";
import { release } from "node:os";
import { decodeWaitStatus, lookExit, watchExit } from "../../../src/procs/exit-status.ts";
import { readProcStat } from "../../../src/procs/proc-stat.ts";
import { waitFor } from "../../support/wait-for.ts";

const [major = 0, minor = 0] = release().split(".").map(Number);
/** PIDFD_INFO_EXIT came with Linux 6.15. */
const pidfdExitInfo = major > 6 || (major === 6 && minor >= 15);

/** Starts `inner` under a parent shell that runs `outer` after it, and returns the inner shell's pid. */
async function grandchild(script: string) {
  const p = Bun.spawn(["/bin/sh", "-c", script], { stdout: "pipe", stderr: "ignore" });
  const reader = p.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const pid = Number(text.trim());
  const startTime = readProcStat(pid)!.startTime;
  return { parent: p, pid, startTime };
}

describe("exit status of a non-child", () => {
  test.each([
    [0, { code: 0, signal: null }],
    [7 << 8, { code: 7, signal: null }],
    [255 << 8, { code: 255, signal: null }],
    [15, { code: null, signal: "SIGTERM" }],
    [9, { code: null, signal: "SIGKILL" }],
    [11 | 0x80, { code: null, signal: "SIGSEGV" }],
  ])("wait status %d decodes to %o", (status, want) => {
    expect(decodeWaitStatus(status)).toEqual(want);
  });

  test("a zombie whose parent never reaps it tells its exit code from /proc", async () => {
    // The parent execs into sleep, which never waits: the inner shell stays a zombie after `exit 7`.
    const g = await grandchild(`sh -c 'echo $$; sleep 0.2; exit 7' & exec sleep 5`);
    try {
      const w = watchExit(g.pid, g.startTime)!;
      expect(w).not.toBeNull();
      expect(lookExit(w).state).toBe("running");
      const look = await waitFor(() => {
        const l = lookExit(w);
        return l.state !== "running" && l;
      }, { what: "the zombie's exit" });
      expect(look).toEqual({ state: "exited", code: 7, signal: null });
    } finally {
      g.parent.kill("SIGKILL");
    }
  });

  test.skipIf(!pidfdExitInfo)("a process its own parent reaped tells how it ended through the pidfd opened before (needs Linux 6.15)", async () => {
    // The outer shell waits for the inner one (reaps it), then lingers: the inner pid is gone from /proc.
    const g = await grandchild(`sh -c 'echo $$; sleep 0.2; kill -TERM $$'; sleep 5`);
    try {
      const w = watchExit(g.pid, g.startTime)!;
      expect(w.fd).toBeGreaterThanOrEqual(0);
      const look = await waitFor(() => {
        const l = lookExit(w);
        return l.state !== "running" && l;
      }, { what: "the reaped process's exit" });
      expect(readProcStat(g.pid)).toBeNull();
      expect(look).toEqual({ state: "exited", code: null, signal: "SIGTERM" });
    } finally {
      g.parent.kill("SIGKILL");
    }
  });

  test("a pid whose start time does not match is not followed (it names another process)", async () => {
    const g = await grandchild(`sh -c 'echo $$; sleep 5'`);
    try {
      expect(watchExit(g.pid, g.startTime + 1)).toBeNull();
      expect(watchExit(2 ** 22 + 17, 1)).toBeNull();
    } finally {
      g.parent.kill("SIGKILL");
      process.kill(g.pid, "SIGKILL");
    }
  });
});
