import { describe, expect, test } from "bun:test";
import { RetryBudget } from "../../../src/balancer/retry-budget.ts";

function clockAt(t: { now: number }) {
  return { now: () => t.now };
}

describe("retry budget", () => {
  test("a quiet listener may still retry a few times per second", () => {
    const t = { now: 10_000 };
    const b = new RetryBudget(clockAt(t), { ratio: 0.2, minPerSecond: 3 });
    const allowed = Array.from({ length: 10 }, () => b.tryRetry()).filter(Boolean).length;
    expect(allowed).toBe(6); // floor over the two one-second windows
  });

  test("under load retries stay under the ratio of requests", () => {
    const t = { now: 10_000 };
    const b = new RetryBudget(clockAt(t), { ratio: 0.2, minPerSecond: 0 });
    for (let i = 0; i < 1000; i++) b.onRequest();
    const allowed = Array.from({ length: 1000 }, () => b.tryRetry()).filter(Boolean).length;
    expect(allowed).toBe(200);
  });

  test("the budget refills as windows pass", () => {
    const t = { now: 10_000 };
    const b = new RetryBudget(clockAt(t), { ratio: 0, minPerSecond: 1 });
    expect([b.tryRetry(), b.tryRetry(), b.tryRetry()]).toEqual([true, true, false]);
    t.now += 2_500;
    expect(b.tryRetry()).toBe(true);
  });
});
