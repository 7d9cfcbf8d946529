// Restart decisions: a table of (mode, event) -> action and reason, then schedules and crash loops.
import { describe, expect, test } from "bun:test";
import { DEFAULT_BACKOFF } from "../../../../src/core/supervision/backoff.ts";
import {
  DEFAULT_RESTART_POLICY,
  Reason,
  type RestartAction,
  type RestartEvent,
  type RestartMode,
  type RestartState,
  decide,
  initialRestartState,
} from "../../../../src/core/supervision/restart-policy.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

const exit = (code: number | null, signal: string | null = null, upMs = 10): RestartEvent => ({
  type: "exited",
  code,
  signal,
  upMs,
});

const table: [RestartMode, RestartEvent, RestartAction, Reason][] = [
  ["always", exit(0), "restart", Reason.RESTART_ALWAYS],
  ["always", exit(1), "restart", Reason.EXIT_FAILURE],
  ["always", exit(null, "SIGKILL"), "restart", Reason.KILLED_BY_SIGNAL],
  ["on-failure", exit(0), "stop", Reason.CLEAN_EXIT],
  ["on-failure", exit(2), "restart", Reason.EXIT_FAILURE],
  ["on-failure", exit(null, "SIGSEGV"), "restart", Reason.KILLED_BY_SIGNAL],
  ["on-failure", { type: "spawn-failed", message: "ENOENT" }, "restart", Reason.SPAWN_FAILED],
  ["on-failure", { type: "exited", code: null, signal: "SIGKILL", upMs: 5, cause: "memory-limit" }, "restart", Reason.MEMORY_LIMIT],
  ["on-failure", { type: "exited", code: null, signal: "SIGTERM", upMs: 5, cause: "watchdog-timeout" }, "restart", Reason.WATCHDOG_TIMEOUT],
  ["on-failure", { type: "exited", code: null, signal: "SIGKILL", upMs: 5, cause: "readiness-timeout" }, "restart", Reason.READINESS_TIMEOUT],
  ["never", exit(1), "stop", Reason.MODE_NEVER],
  ["never", exit(0), "stop", Reason.MODE_NEVER],
  ["always", { type: "stop-requested" }, "stop", Reason.STOP_REQUESTED],
  ["always", { type: "cooldown-check" }, "none", Reason.NOTHING_TO_DO],
];

function stateFor(mode: RestartMode): RestartState {
  return initialRestartState({ ...DEFAULT_RESTART_POLICY, mode });
}

describe("restart policy", () => {
  test.each(table)("mode %s, event %j -> %s (%s)", (mode, event, action, reason) => {
    const d = decide(stateFor(mode), event, 0, createSeededRng(1));
    expect(d.action).toBe(action);
    expect(d.reason).toBe(reason);
  });

  test("after an operator stop, an exit with a failure code does NOT restart", () => {
    const rng = createSeededRng(1);
    const stopped = decide(stateFor("always"), { type: "stop-requested" }, 0, rng).next;
    const d = decide(stopped, exit(null, "SIGTERM"), 1, rng);
    expect([d.action, d.reason]).toEqual(["stop", Reason.STOP_REQUESTED]);
  });

  test("a replica crashing at once gets this schedule of delays, then crash-loop", () => {
    const rng = createSeededRng(7);
    const policy = {
      mode: "always" as const,
      backoff: { ...DEFAULT_BACKOFF, jitter: "none" as const },
      crashLoop: { maxRestarts: 5, windowMs: 60_000, cooldownMs: 300_000, minUptimeMs: 1_000 },
    };
    let s = initialRestartState(policy);
    let now = 0;
    const delays: number[] = [];
    let last = "";
    for (let i = 0; i < 7; i++) {
      const d = decide(s, exit(1, null, 5), now, rng);
      s = d.next;
      last = `${d.action}/${d.reason}`;
      if (d.action !== "restart") break;
      delays.push(d.delayMs);
      now += d.delayMs + 5;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600]);
    expect(last).toBe("crash-loop/crash-loop");
  });

  const stableRuns: Array<[string, RestartEvent, number[], boolean]> = [
    // what, the exit of a run that lasted 5 s, the delays of 6 such exits in a row, crash-loop reached
    ["killed from outside after being ready", { type: "exited", code: null, signal: "SIGKILL", upMs: 5_000, wasReady: true }, [100, 100, 100, 100, 100, 100], false],
    ["exiting with an error after being ready", { type: "exited", code: 1, signal: null, upMs: 5_000, wasReady: true }, [100, 200, 400, 800, 1600, 3200], false],
    ["killed from outside before it was ready", { type: "exited", code: null, signal: "SIGKILL", upMs: 5_000, wasReady: false }, [100, 200, 400], true],
    ["killed from outside within min uptime", { type: "exited", code: null, signal: "SIGKILL", upMs: 500, wasReady: true }, [100, 200, 400], true],
    ["killed by us (memory limit) after being ready", { type: "exited", code: null, signal: "SIGTERM", upMs: 5_000, wasReady: true, cause: "memory-limit" }, [100, 200, 400, 800, 1600, 3200], false],
  ];
  test.each(stableRuns)("a run %s: delays %j, crash-loop %p", (_what, event, delays, loops) => {
    const rng = createSeededRng(1);
    const policy = { mode: "always" as const, backoff: { ...DEFAULT_BACKOFF, jitter: "none" as const }, crashLoop: { maxRestarts: 3, windowMs: 60_000, cooldownMs: 300_000, minUptimeMs: 1_000 } };
    let s = initialRestartState(policy);
    const seen: number[] = [];
    let looped = false;
    for (let i = 0; i < 6; i++) {
      const d = decide(s, event, i * 6_000, rng);
      s = d.next;
      if (d.action === "crash-loop") {
        looped = true;
        break;
      }
      seen.push(d.delayMs);
    }
    expect(seen).toEqual(delays);
    expect(looped).toBe(loops);
  });

  test("with a seeded rng the jittered schedule is the same list every run", () => {
    const run = () => {
      const rng = createSeededRng(99);
      let s = stateFor("always");
      const delays: number[] = [];
      for (let i = 0; i < 8; i++) {
        const d = decide(s, exit(1), i * 20_000, rng);
        s = d.next;
        delays.push(d.delayMs);
      }
      return delays;
    };
    expect(run()).toEqual(run());
    // Decorrelated jitter is a random walk above the floor: it may step down (5th delay) as well as up.
    expect(run()).toEqual([152, 387, 674, 1427, 105, 276, 108, 124]);
  });

  test("in crash-loop, exits wait for the cooldown; after it a check restarts with a fresh budget", () => {
    const rng = createSeededRng(3);
    const policy = { ...DEFAULT_RESTART_POLICY, crashLoop: { maxRestarts: 1, windowMs: 1_000, cooldownMs: 5_000, minUptimeMs: 1_000 } };
    let s = initialRestartState(policy);
    s = decide(s, exit(1), 0, rng).next;
    const tripped = decide(s, exit(1), 10, rng);
    expect(tripped.action).toBe("crash-loop");
    s = tripped.next;
    expect(decide(s, exit(1), 20, rng)).toMatchObject({ action: "crash-loop", reason: Reason.IN_CRASH_LOOP, delayMs: 4_990 });
    expect(decide(s, { type: "cooldown-check" }, 4_000, rng)).toMatchObject({ action: "crash-loop", delayMs: 1_010 });
    const after = decide(s, { type: "cooldown-check" }, 5_010, rng);
    expect([after.action, after.reason]).toEqual(["restart", Reason.COOLDOWN_ELAPSED]);
    expect(after.next.crashLoop.trippedAt).toBeNull();
  });

  test("an operator reset clears the crash loop and restarts at once", () => {
    const rng = createSeededRng(3);
    const policy = { ...DEFAULT_RESTART_POLICY, crashLoop: { maxRestarts: 0, windowMs: 1_000, cooldownMs: 5_000, minUptimeMs: 1_000 } };
    const tripped = decide(initialRestartState(policy), exit(1), 0, rng).next;
    const d = decide(tripped, { type: "reset" }, 1, rng);
    expect(d).toMatchObject({ action: "restart", delayMs: 0, reason: Reason.OPERATOR_RESET });
    expect(d.next.crashLoop.trippedAt).toBeNull();
  });

  test("a replica that stayed up past the stable period restarts after the initial delay again", () => {
    const rng = createSeededRng(5);
    let s = initialRestartState({ ...DEFAULT_RESTART_POLICY, backoff: { ...DEFAULT_BACKOFF, jitter: "none" } });
    for (let i = 0; i < 5; i++) s = decide(s, exit(1, null, 5), i * 20_000, rng).next;
    expect(decide(s, exit(1, null, 5), 200_000, rng).delayMs).toBe(3_200);
    expect(decide(s, exit(1, null, 31_000), 200_000, rng).delayMs).toBe(100);
  });
});
