import { describe, expect, test } from "bun:test";
import { nextRun, parseCron } from "../../../../src/core/tasks/cron.ts";
import { createQueueState, decide, type QueueDecision, Reason } from "../../../../src/core/tasks/queue.ts";
import type { TaskPriority, TaskSpec } from "../../../../src/core/tasks/types.ts";

const spec = (name: string, over: Partial<TaskSpec> = {}): TaskSpec => ({ name, command: "true", args: [], env: {}, priority: "medium", timeoutMs: 0, retries: { max: 0, backoffMs: 100, maxBackoffMs: 1000 }, concurrencyLimit: 1, killTimeoutMs: 1000, outputLimit: 1024, ...over });
const started = (d: QueueDecision) => d.actions.flatMap((a) => (a.kind === "start" ? [a.task.spec.name] : []));
const opts = (over = {}) => ({ maxConcurrent: 1, agingMs: 0, keepFinished: 100, ...over });

describe("task queue", () => {
  test("priority order, FIFO within a priority", () => {
    const s = createQueueState(opts());
    const order: string[] = [];
    const run = (d: QueueDecision) => order.push(...started(d));
    run(decide(s, { type: "enqueue", spec: spec("first") }, 0));
    for (const [n, p] of [["low1", "low"], ["med1", "medium"], ["crit", "critical"], ["med2", "medium"], ["high", "high"]] as Array<[string, TaskPriority]>) run(decide(s, { type: "enqueue", spec: spec(n, { priority: p }) }, 1));
    let id = 1;
    while (order.length < 6) run(decide(s, { type: "exited", id: [...s.tasks.values()].find((t) => t.state === "starting")!.id, code: 0, signal: null }, 2 + id++));
    expect(order).toEqual(["first", "crit", "high", "med1", "med2", "low1"]);
  });

  test("aging lifts a low task above newer high ones once it has waited long enough", () => {
    const s = createQueueState(opts({ agingMs: 1000 }));
    decide(s, { type: "enqueue", spec: spec("busy") }, 0);
    decide(s, { type: "enqueue", spec: spec("old-low", { priority: "low" }) }, 0);
    decide(s, { type: "enqueue", spec: spec("new-high", { priority: "high" }) }, 2500);
    // low (0) + 3 steps of aging = critical (3) > high (2) + 0.
    const d = decide(s, { type: "exited", id: "1", code: 0, signal: null }, 3000);
    expect(started(d)).toEqual(["old-low"]);
  });

  test("a global limit and per-key limits hold; a key waiting does not block other keys", () => {
    const s = createQueueState(opts({ maxConcurrent: 3 }));
    const all: string[] = [];
    for (const [n, k] of [["a1", "a"], ["a2", "a"], ["b1", "b"], ["c1", undefined], ["c2", undefined]] as const) all.push(...started(decide(s, { type: "enqueue", spec: spec(n, k ? { concurrencyKey: k } : {}) }, 0)));
    expect(all).toEqual(["a1", "b1", "c1"]);
    expect(s.active).toBe(3);
    expect(started(decide(s, { type: "exited", id: "1", code: 0, signal: null }, 1))).toEqual(["a2"]);
  });

  test("failures retry with exponential backoff up to retries.max, then fail", () => {
    const s = createQueueState(opts());
    decide(s, { type: "enqueue", spec: spec("flaky", { retries: { max: 2, backoffMs: 100, maxBackoffMs: 150 } }) }, 0);
    const t = s.tasks.get("1")!;
    decide(s, { type: "spawned", id: "1", pid: 10, startTime: 1 }, 0);
    const r1 = decide(s, { type: "exited", id: "1", code: 3, signal: null }, 10);
    expect(r1.reason).toBe(Reason.RETRYING);
    expect(t.notBefore).toBe(110);
    expect(started(decide(s, { type: "tick" }, 109))).toEqual([]);
    expect(started(decide(s, { type: "tick" }, 110))).toEqual(["flaky"]);
    decide(s, { type: "exited", id: "1", code: 3, signal: null }, 200);
    expect(t.notBefore).toBe(350);
    decide(s, { type: "tick" }, 350);
    expect(decide(s, { type: "exited", id: "1", code: 3, signal: null }, 400).reason).toBe(Reason.FAILED);
    expect(t.state).toBe("failed");
    expect(t.attempts.map((a) => a.exitCode)).toEqual([3, 3, 3]);
  });

  test("a timeout stops the task and ends it timed_out; a cancel ends it cancelled and is not retried", () => {
    const s = createQueueState(opts({ maxConcurrent: 2 }));
    decide(s, { type: "enqueue", spec: spec("slow", { timeoutMs: 1000, retries: { max: 0, backoffMs: 1, maxBackoffMs: 1 } }) }, 0);
    decide(s, { type: "enqueue", spec: spec("cancel-me", { retries: { max: 5, backoffMs: 1, maxBackoffMs: 1 } }) }, 0);
    decide(s, { type: "spawned", id: "1", pid: 1, startTime: 1 }, 0);
    decide(s, { type: "spawned", id: "2", pid: 2, startTime: 1 }, 0);
    const stop = decide(s, { type: "tick" }, 1000).actions.filter((a) => a.kind === "stop");
    expect(stop.map((a) => (a as { why: string }).why)).toEqual(["timeout"]);
    expect(decide(s, { type: "exited", id: "1", code: null, signal: "SIGTERM" }, 1100).task!.state).toBe("timed_out");
    const c = decide(s, { type: "cancel", id: "2" }, 1200);
    expect(c.actions.some((a) => a.kind === "stop")).toBe(true);
    expect(decide(s, { type: "exited", id: "2", code: null, signal: "SIGTERM" }, 1300).task!.state).toBe("cancelled");
    expect(decide(s, { type: "cancel", id: "2" }, 1400).reason).toBe(Reason.ALREADY_FINISHED);
  });

  test("restored: queued go back in order, running count against the limit, lost ones retry", () => {
    const s1 = createQueueState(opts({ maxConcurrent: 1 }));
    decide(s1, { type: "enqueue", spec: spec("running", { retries: { max: 1, backoffMs: 0, maxBackoffMs: 0 } }) }, 0);
    decide(s1, { type: "spawned", id: "1", pid: 5, startTime: 9 }, 0);
    decide(s1, { type: "enqueue", spec: spec("next") }, 1);
    const s2 = createQueueState(opts({ maxConcurrent: 1 }), structuredClone([...s1.tasks.values()]));
    expect(s2.active).toBe(1);
    expect(started(decide(s2, { type: "tick" }, 2))).toEqual([]);
    const lost = decide(s2, { type: "lost", id: "1" }, 3);
    expect(s2.tasks.get("1")!.attempts[0]!.outcome).toBe("lost");
    // The freed slot goes to the oldest queued: "next" (queued before the lost one re-entered the queue).
    expect(started(lost)).toEqual(["next"]);
    expect(s2.nextId).toBe(3);
  });

  test.each([
    ["exit code 0", { code: 0, signal: null }, "succeeded", "exited"],
    ["exit code 3", { code: 3, signal: null }, "failed", "exited"],
    ["killed by SIGTERM", { code: null, signal: "SIGTERM" }, "failed", "exited"],
    ["status unknown", { code: null, signal: null, statusUnknown: true }, "succeeded", "adopted-exit-unknown"],
  ] as const)("an adopted task that ends with %s ends %s, its attempt marked adopted (outcome %s), never run again", (_what, exit, state, outcome) => {
    const s1 = createQueueState(opts());
    decide(s1, { type: "enqueue", spec: spec("long", { retries: { max: 0, backoffMs: 0, maxBackoffMs: 0 } }) }, 0);
    decide(s1, { type: "spawned", id: "1", pid: 5, startTime: 9 }, 0);
    const s2 = createQueueState(opts(), structuredClone([...s1.tasks.values()]));
    const a = decide(s2, { type: "adopted", id: "1" }, 5);
    // The mark is persisted: a second restart still knows this attempt was followed across one.
    expect(a.actions.some((x) => x.kind === "persist")).toBe(true);
    const d = decide(s2, { type: "exited", id: "1", ...exit }, 9);
    const t = s2.tasks.get("1")!;
    expect(t.state).toBe(state);
    expect(t.attempts).toHaveLength(1);
    expect(t.attempts[0]).toMatchObject({ adopted: true, outcome, exitCode: exit.code });
    expect(started(d)).toEqual([]);
  });

  test("update changes a queued task only; delete refuses a running one", () => {
    const s = createQueueState(opts());
    decide(s, { type: "enqueue", spec: spec("a") }, 0);
    decide(s, { type: "enqueue", spec: spec("b") }, 0);
    expect(decide(s, { type: "update", id: "1", spec: spec("a2") }, 1).reason).toBe(Reason.NOT_QUEUED);
    expect(decide(s, { type: "update", id: "2", spec: spec("b", { priority: "high" }) }, 1).task!.spec.priority).toBe("high");
    expect(decide(s, { type: "delete", id: "1" }, 1).reason).toBe(Reason.RUNNING);
    expect(decide(s, { type: "delete", id: "2" }, 1).reason).toBe(Reason.DELETED);
  });
});

describe("cron", () => {
  const at = (iso: string) => Date.parse(iso);
  test.each([
    ["*/15 * * * *", "UTC", "2026-03-01T10:07:00Z", "2026-03-01T10:15:00.000Z"],
    ["0 3 * * *", "UTC", "2026-03-01T03:00:00Z", "2026-03-02T03:00:00.000Z"],
    ["30 9 * * mon-fri", "UTC", "2026-02-27T10:00:00Z", "2026-03-02T09:30:00.000Z"],
    ["0 0 1 jan *", "UTC", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00.000Z"],
    ["@hourly", "UTC", "2026-03-01T10:59:59Z", "2026-03-01T11:00:00.000Z"],
    ["0 9 * * *", "Europe/Paris", "2026-07-01T00:00:00Z", "2026-07-01T07:00:00.000Z"],
    ["0 9 * * *", "America/New_York", "2026-01-15T00:00:00Z", "2026-01-15T14:00:00.000Z"],
    // Six fields: seconds first.
    ["*/10 * * * * *", "UTC", "2026-03-01T10:07:03Z", "2026-03-01T10:07:10.000Z"],
    ["*/10 * * * * *", "UTC", "2026-03-01T10:07:50Z", "2026-03-01T10:08:00.000Z"],
    ["15,45 */5 * * * *", "UTC", "2026-03-01T10:07:20Z", "2026-03-01T10:10:15.000Z"],
    ["30 0 3 * * *", "UTC", "2026-03-01T03:00:30Z", "2026-03-02T03:00:30.000Z"],
    ["* * * * * *", "UTC", "2026-03-01T10:07:03.500Z", "2026-03-01T10:07:04.000Z"],
    ["0 30 9 * * mon-fri", "Europe/Paris", "2026-02-27T10:00:00Z", "2026-03-02T08:30:00.000Z"],
  ])("%s in %s after %s -> %s", (text, tz, after, want) => {
    expect(new Date(nextRun(parseCron(text, tz), at(after))!).toISOString()).toBe(want);
  });
  test("bad schedules name the field", () => {
    expect(() => parseCron("61 * * * *")).toThrow(/minute/);
    expect(() => parseCron("* * *")).toThrow(/expected 5 .*6 \(second first\)/);
    expect(() => parseCron("60 * * * * *")).toThrow(/second: "60" is outside 0-59/);
    expect(() => parseCron("* * * * * * *")).toThrow(/has 7 field/);
    expect(() => parseCron("* * * * *", "Mars/Base")).toThrow(/time zone/);
    expect(nextRun(parseCron("0 0 30 feb *"), 0)).toBeNull();
  });
});
