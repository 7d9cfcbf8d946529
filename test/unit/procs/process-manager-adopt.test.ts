// Adopting replicas recorded before an agent crash: same start time kept, others reported, never a stranger killed.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRunning, readProcStat } from "../../../src/procs/proc-stat.ts";
import { waitFor } from "../../support/wait-for.ts";
import { fastSpec, fixture, harness, portRange } from "./harness.ts";

function orphanServer(port: number) {
  // Stands in for a replica the crashed agent had started: detached, so it leads its own group.
  const p = Bun.spawn([process.execPath, fixture("server")], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "ignore"],
    detached: true,
  });
  return { proc: p, startTime: readProcStat(p.pid)!.startTime };
}

describe("adopt", () => {
  test("a live record with the same start time is supervised again and counted toward the spec", async () => {
    await using h = harness();
    const port = portRange();
    const orphan = orphanServer(port.from);
    try {
      h.pm.adopt([{ app: "web", id: 0, pid: orphan.proc.pid, startTime: orphan.startTime, port: port.from }]);
      expect(h.of("adopted")[0]).toMatchObject({ id: 0, pid: orphan.proc.pid });
      await h.pm.apply([fastSpec("web", "server", { replicas: 2, port })]);
      await waitFor(() => h.of("ready").length === 1, { what: "one new replica" });
      const snap = h.pm.snapshot()[0]!.replicas;
      expect(snap.map((r) => [r.id, r.adopted, r.pid === orphan.proc.pid])).toEqual([
        [0, true, true],
        [1, false, false],
      ]);
      await waitFor(() => h.stats.some((b) => b.some((s) => s.pid === orphan.proc.pid && s.rssBytes > 0)), { what: "stats of the adopted" });
      await h.pm.stopAll();
      expect(isRunning(orphan.proc.pid)).toBe(false);
    } finally {
      orphan.proc.kill("SIGKILL");
    }
  });

  test("an adopted replica that dies is noticed by polling and replaced", async () => {
    await using h = harness();
    const port = portRange();
    await h.pm.apply([fastSpec("web", "server", { replicas: 0, port })]);
    const orphan = orphanServer(port.from);
    h.pm.adopt([{ app: "web", id: 0, pid: orphan.proc.pid, startTime: orphan.startTime, port: port.from }]);
    await h.pm.scale("web", 1);
    orphan.proc.kill("SIGKILL");
    const exited = await h.waitEvent("exited");
    expect(exited.reason).toBe("vanished");
    await h.waitEvent("ready");
    expect(h.replica("web", 0)).toMatchObject({ adopted: false, restarts: 1 });
  });

  test("a dead pid is reported gone; a reused pid is reported and NOT killed", async () => {
    await using h = harness();
    const stranger = orphanServer(portRange().from);
    const dead = Bun.spawn([process.execPath, fixture("exit"), "0"], { stdio: ["ignore", "ignore", "ignore"] });
    await dead.exited;
    try {
      h.pm.adopt([
        { app: "web", id: 0, pid: dead.pid, startTime: 1, port: null },
        { app: "web", id: 1, pid: stranger.proc.pid, startTime: stranger.startTime + 1, port: null },
      ]);
      expect(h.of("adopt-rejected").map((e) => [e.id, e.reason, e.killed])).toEqual([
        [0, "gone", false],
        [1, "pid-reused", false],
      ]);
      expect(isRunning(stranger.proc.pid)).toBe(true);
    } finally {
      stranger.proc.kill("SIGKILL");
      await stranger.proc.exited;
    }
  });

  test("after apply, a record of an app no longer configured is killed", async () => {
    await using h = harness();
    await h.pm.apply([]);
    const orphan = orphanServer(portRange().from);
    h.pm.adopt([{ app: "old", id: 0, pid: orphan.proc.pid, startTime: orphan.startTime, port: null }]);
    expect(h.of("adopt-rejected")[0]).toMatchObject({ reason: "unknown-app", killed: true });
    await orphan.proc.exited;
    expect(orphan.proc.signalCode).toBe("SIGKILL");
  });
});

describe("replicas without a record", () => {
  test("a replica whose record was lost is found by its environment and adopted before anything starts; a manager of another data dir leaves it alone", async () => {
    const logs = mkdtempSync(join(tmpdir(), "polis-orphans-"));
    const port = portRange();
    const spec = fastSpec("web", "server", { replicas: 1, port, readiness: { kind: "port", timeoutMs: 10_000 }, logs: { dir: logs } });
    const first = harness();
    await first.pm.apply([spec]);
    const r = await waitFor(() => (first.replica("web", 0)?.state === "ready" ? first.replica("web", 0) : undefined), { what: "first replica ready" });
    // The agent goes away without stopping its replica, and its records with it.
    first.pm.release();
    try {
      await using other = harness();
      await other.pm.apply([{ ...spec, logs: { dir: mkdtempSync(join(tmpdir(), "polis-orphans-other-")) } }]);
      await other.waitEvent("ready");
      expect(other.of("adopted")).toEqual([]);
      await other.pm.stopAll();
      expect(isRunning(r.pid!)).toBe(true);

      await using second = harness();
      await second.pm.apply([spec]);
      expect(second.of("adopted").map((e) => [e.id, e.pid, e.port])).toEqual([[0, r.pid, r.port]]);
      expect(second.of("spawned")).toEqual([]);
      await second.pm.stopAll();
      expect(isRunning(r.pid!)).toBe(false);
    } finally {
      try {
        process.kill(-r.pid!, "SIGKILL");
      } catch {
        // Stopped already.
      }
      rmSync(logs, { recursive: true, force: true });
    }
  });
});
