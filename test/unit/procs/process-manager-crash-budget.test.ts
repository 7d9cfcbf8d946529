// Crash-loop budgets per replica slot: one looping slot is paused alone, the app-level verdict needs most slots,
// a stable run killed from outside is not counted, and the budget in force is always the app's current one.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { readProcStat } from "../../../src/procs/proc-stat.ts";
import type { AppSpec } from "../../../src/procs/types.ts";
import { waitFor } from "../../support/wait-for.ts";
import { harness } from "./harness.ts";

/** Replicas whose id is in `crashing` exit at once with code 3; the others sleep (ready at spawn). */
function shSpec(name: string, replicas: number, crashing: number[], crashLoop: Record<string, number> = {}): AppSpec {
  const ids = crashing.map((i) => `"$POLIS_REPLICA" = "${i}"`).join(" -o ");
  const script = `${crashing.length > 0 ? `if [ ${ids} ]; then exit 3; fi; ` : ""}exec sleep 1000`;
  return {
    name,
    command: "sh",
    args: ["-c", script],
    replicas,
    restart: { mode: "always", backoff: { initialMs: 5, capMs: 20, jitter: "none" }, crashLoop: { maxRestarts: 3, windowMs: 60_000, cooldownMs: 60_000, ...crashLoop } },
    stop: { timeoutMs: 1_000 },
    readiness: { kind: "none" },
  };
}

describe("crash budgets per replica slot", () => {
  test("one slot that keeps crashing is paused alone: its siblings keep their processes and the app is NOT in crash-loop", async () => {
    await using h = harness();
    await h.pm.apply([shSpec("web", 3, [1])]);
    const slot = await h.waitEvent("replica-crash-loop");
    expect(slot).toMatchObject({ id: 1, restarts: 4 });
    const snap = h.pm.snapshot()[0]!;
    expect(snap.crashLoop).toBe(false);
    expect(snap.replicas.map((r) => r.state)).toEqual(["ready", "crash-loop", "ready"]);
    // The healthy slots never restarted.
    expect(h.of("spawned").filter((e) => e.id !== 1).length).toBe(2);
    expect(h.of("crash-loop")).toEqual([]);
  });

  test("when most slots are looping the app gets the crash-loop verdict once, and a reset clears it", async () => {
    await using h = harness();
    await h.pm.apply([shSpec("web", 3, [0, 2])]);
    const verdict = await h.waitEvent("crash-loop");
    expect(verdict).toMatchObject({ looping: 2, slots: 3 });
    expect(h.pm.snapshot()[0]!.crashLoop).toBe(true);
    expect(h.pm.snapshot()[0]!.replicas[1]!.state).toBe("ready");
    await h.pm.resetCrashLoop("web");
    expect(h.of("crash-loop-cleared").map((e) => e.reason)).toEqual(["operator-reset"]);
    expect(h.pm.snapshot()[0]!.crashLoop).toBe(false);
  });

  test("a ready replica killed from outside after its min uptime is restarted every time without ever counting", async () => {
    await using h = harness();
    // min uptime 0: every ready run is stable, so the test needs no clock.
    await h.pm.apply([shSpec("web", 1, [], { maxRestarts: 2, minUptimeMs: 0 })]);
    for (let kill = 1; kill <= 6; kill++) {
      const r = await waitFor(() => h.replica("web", 0)?.state === "ready" && h.replica("web", 0), { what: `replica ready before kill ${kill}` });
      process.kill(r.pid!, "SIGKILL");
      await h.waitEvent("spawned", () => h.of("spawned").length === kill + 1);
    }
    expect(h.of("replica-crash-loop")).toEqual([]);
    expect(h.of("restarting").map((e) => e.reason)).toEqual(Array(6).fill("killed-by-signal"));
  });

  test("contrast: a run that never becomes ready counts, whatever its uptime", async () => {
    await using h = harness();
    const spec = { ...shSpec("web", 1, [0], { maxRestarts: 2, minUptimeMs: 0 }), readiness: { kind: "stdout" as const, pattern: "^NEVER", timeoutMs: 60_000 } };
    await h.pm.apply([spec]);
    expect(await h.waitEvent("replica-crash-loop")).toMatchObject({ id: 0, restarts: 3 });
  });

  test("a budget raised by a new spec is in force for replicas started under the old one", async () => {
    await using h = harness();
    await h.pm.apply([shSpec("web", 1, [], { maxRestarts: 1 })]);
    const first = await waitFor(() => h.replica("web", 0)?.pid ?? undefined, { what: "first replica" });
    // The new spec crashes at once and allows 50 restarts: under the old budget the slot would trip at the 2nd.
    await h.pm.apply([shSpec("web", 1, [0], { maxRestarts: 50 })]);
    process.kill(first, "SIGKILL");
    await waitFor(() => h.of("exited").length >= 8, { what: "8 exits" });
    expect(h.of("replica-crash-loop")).toEqual([]);
  });

  test("an adopted replica restarts under its app's configured budget, not a default one", async () => {
    await using h = harness();
    const orphan = Bun.spawn(["sleep", "1000"], { stdio: ["ignore", "ignore", "ignore"], detached: true });
    try {
      h.pm.adopt([{ app: "web", id: 0, pid: orphan.pid, startTime: readProcStat(orphan.pid)!.startTime, port: null }]);
      // Default budget is 10: 14 crash restarts would trip it.
      await h.pm.apply([shSpec("web", 1, [0], { maxRestarts: 200 })]);
      orphan.kill("SIGKILL");
      await waitFor(() => h.of("exited").length >= 14, { what: "14 exits" });
      expect(h.of("replica-crash-loop")).toEqual([]);
    } finally {
      orphan.kill("SIGKILL");
    }
  });

  test("an adopted replica reports its process's own start time, not the moment it was adopted", async () => {
    await using h = harness();
    const orphan = Bun.spawn(["sleep", "1000"], { stdio: ["ignore", "ignore", "ignore"], detached: true });
    try {
      const st = await waitFor(() => readProcStat(orphan.pid) ?? undefined, { what: "orphan in /proc" });
      h.pm.adopt([{ app: "web", id: 0, pid: orphan.pid, startTime: st.startTime, port: null }]);
      // Boot time from /proc/stat plus the process's start in clock ticks (100 per second).
      const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))![1]) * 1000;
      expect(h.replica("web", 0)!.startedAt).toBe(btime + st.startTime * 10);
    } finally {
      orphan.kill("SIGKILL");
    }
  });
});
