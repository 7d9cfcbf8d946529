// Replica output goes to files the replica holds (not pipes to us), tailed into the ring; adopted replicas are
// tailed too; no fd leaks; stopAll stops tailing and removes the private log dir.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { openOutputFiles, outputPaths, type OutputTails } from "../../../src/procs/output-tail.ts";
import { isRunning, readProcStat } from "../../../src/procs/proc-stat.ts";
import type { ProcessManager } from "../../../src/procs/process-manager.ts";
import { waitFor } from "../../support/wait-for.ts";
import { fastSpec, fixture, harness, portRange } from "./harness.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "polis-procs-out-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const openFds = () => readdirSync("/proc/self/fd").length;
/** How many files the manager is tailing (private: read here only to prove stopAll ends the tailing). */
const tailing = (pm: ProcessManager) => (pm as unknown as { tails: OutputTails }).tails.size;

/** Stands in for a replica a crashed agent started: detached, its output in the slot's files. */
function orphanWriting(app: string, id: number, env: Record<string, string>) {
  const paths = outputPaths(dir, app, id);
  const fds = openOutputFiles(dir, paths);
  try {
    const proc = Bun.spawn([process.execPath, fixture("server")], {
      env: { ...process.env, PORT: "0", ...env },
      stdio: ["ignore", fds.stdout, fds.stderr],
      detached: true,
    });
    return { proc, paths, startTime: readProcStat(proc.pid)!.startTime };
  } finally {
    closeSync(fds.stdout);
    closeSync(fds.stderr);
  }
}

describe("replica output", () => {
  test("stdout and stderr of a replica are its own append-mode files in the log dir, and their lines reach the ring", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("web", "server", { port: portRange(), readiness: { kind: "stdout", pattern: "^READY" }, logs: { dir } })]);
    const ready = await h.waitEvent("ready");
    const paths = outputPaths(dir, "web", 0);
    expect(readlinkSync(`/proc/${ready.pid}/fd/1`)).toBe(paths.stdout);
    expect(readlinkSync(`/proc/${ready.pid}/fd/2`)).toBe(paths.stderr);
    expect(readFileSync(`/proc/${ready.pid}/fdinfo/1`, "utf8")).toMatch(/flags:\s+\d*2\d{3}\b/); // O_APPEND (02000)
    expect(readFileSync(paths.stdout, "utf8")).toStartWith("READY ");
    expect(h.pm.logs("web", 0).map((l) => [l.stream, l.line.split(" ")[0]])).toEqual([["stdout", "READY"]]);
  });

  test("the next process of a slot appends to the same files and only its own lines are read as new", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("web", "server", { port: portRange(), readiness: { kind: "stdout", pattern: "^READY" }, logs: { dir } })]);
    const first = await h.waitEvent("ready");
    process.kill(first.pid, "SIGKILL");
    await h.waitEvent("ready", (e) => e.pid !== first.pid);
    expect(readFileSync(outputPaths(dir, "web", 0).stdout, "utf8").match(/^READY /gm)?.length).toBe(2);
    expect(h.pm.logs("web", 0).filter((l) => l.line.startsWith("READY")).length).toBe(2);
  });

  test("an adopted replica's output is tailed from the files' current end once its app's spec is known", async () => {
    const orphan = orphanWriting("web", 0, { HEARTBEAT_MS: "20" });
    try {
      await waitFor(() => readFileSync(orphan.paths.stdout, "utf8").includes("HEARTBEAT"), { what: "the orphan writing" });
      await using h = harness();
      h.pm.adopt([{ app: "web", id: 0, pid: orphan.proc.pid, startTime: orphan.startTime, port: null }]);
      await h.pm.apply([fastSpec("web", "server", { logs: { dir } })]);
      await waitFor(() => h.pm.logs("web", 0).length >= 3, { what: "heartbeats of the adopted replica in the ring" });
      const lines = h.pm.logs("web", 0).map((l) => l.line);
      expect(lines.every((l) => l === "HEARTBEAT")).toBe(true); // READY came before the adoption
      expect(h.replica("web", 0)).toMatchObject({ pid: orphan.proc.pid, adopted: true });
    } finally {
      orphan.proc.kill("SIGKILL");
    }
  });

  test("an adopted replica whose heartbeats stop is killed by the watchdog, since its output is read again", async () => {
    const orphan = orphanWriting("beat", 0, { HEARTBEAT_MS: "20", HEARTBEATS: "30" });
    try {
      await using h = harness();
      h.pm.adopt([{ app: "beat", id: 0, pid: orphan.proc.pid, startTime: orphan.startTime, port: null }]);
      await h.pm.apply([fastSpec("beat", "server", { logs: { dir }, watchdog: { timeoutMs: 300 } })]);
      await h.waitEvent("stopping", (e) => e.reason === "watchdog-timeout" && e.pid === orphan.proc.pid);
      await orphan.proc.exited;
    } finally {
      orphan.proc.kill("SIGKILL");
    }
  });

  test("a log dir that cannot be created fails the spawn with a message instead of starting a replica without output", async () => {
    await using h = harness();
    const notADir = join(dir, "file");
    writeFileSync(notADir, "");
    await h.pm.apply([fastSpec("web", "server", { logs: { dir: join(notADir, "logs") }, restart: { mode: "never" } })]);
    const failed = await h.waitEvent("spawn-failed");
    expect(failed.message).toContain("cannot open output files");
    expect(h.of("spawned")).toEqual([]);
  });

  test("no fd is left open after replicas were spawned, restarted and stopped", async () => {
    {
      // Warm-up: the runtime opens some fds of its own on the first spawn.
      await using h = harness();
      await h.pm.apply([fastSpec("warm", "server", { port: portRange(), readiness: { kind: "stdout", pattern: "^READY" }, logs: { dir } })]);
      await h.waitEvent("ready");
    }
    const before = openFds();
    {
      await using h = harness();
      await h.pm.apply([fastSpec("web", "server", { replicas: 2, port: portRange(), readiness: { kind: "stdout", pattern: "^READY" }, logs: { dir } })]);
      await waitFor(() => h.of("ready").length === 2);
      const victim = h.of("ready")[0]!;
      process.kill(victim.pid, "SIGKILL");
      await waitFor(() => h.of("ready").length === 3);
      await h.pm.stopAll();
    }
    expect(openFds()).toBe(before);
  });

  test("stopAll stops the tailing and removes the private log dir used when no dir is configured", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("web", "server", { port: portRange(), readiness: { kind: "stdout", pattern: "^READY" } })]);
    const ready = await h.waitEvent("ready");
    const privateDir = dirname(readlinkSync(`/proc/${ready.pid}/fd/1`));
    expect(privateDir.startsWith(tmpdir())).toBe(true);
    expect(tailing(h.pm)).toBe(2);
    await h.pm.stopAll();
    expect(tailing(h.pm)).toBe(0);
    expect(existsSync(privateDir)).toBe(false);
    expect(isRunning(ready.pid)).toBe(false);
  });
});
