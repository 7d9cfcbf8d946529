import { describe, expect, test } from "bun:test";
import { createScheduler } from "../../../../src/core/health/scheduler.ts";
import { createFakeClock } from "../../../support/fake-clock.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

// Seeded random operations against the scheduler, checking its invariants after every step.
describe("scheduler under random operations", () => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    test(`seed ${seed}: due order is sorted, running checks are never due, removed checks never return`, () => {
      const rng = createSeededRng(seed);
      const clock = createFakeClock(0);
      const s = createScheduler(clock);
      const running = new Set<string>();
      const present = new Set<string>();
      const dueAt = new Map<string, number>();
      for (let step = 0; step < 3000; step++) {
        const id = `c${Math.floor(rng.next() * 40)}`;
        const op = rng.next();
        if (op < 0.25) {
          const at = clock.now() + Math.floor(rng.next() * 2000);
          s.add(id, at, { intervalMs: 1000 + Math.floor(rng.next() * 1000), unhealthyIntervalMs: 1000 });
          if (!running.has(id)) dueAt.set(id, at);
          present.add(id);
        } else if (op < 0.35) {
          s.remove(id);
          present.delete(id);
          running.delete(id);
        } else if (op < 0.6 && running.size > 0) {
          const r = [...running][Math.floor(rng.next() * running.size)];
          const next = s.complete(r, rng.next() < 0.7);
          running.delete(r);
          expect(next).toBeGreaterThanOrEqual(clock.now());
          dueAt.set(r, next!);
        } else {
          clock.advance(Math.floor(rng.next() * 300));
          const due = s.due();
          const times = due.map((d) => dueAt.get(d)!);
          expect(times).toEqual(times.slice().sort((a, b) => a - b));
          for (const d of due) {
            expect(running.has(d)).toBe(false);
            expect(present.has(d)).toBe(true);
            expect(dueAt.get(d)!).toBeLessThanOrEqual(clock.now());
            running.add(d);
          }
        }
        const next = s.nextDueAt();
        if (next !== undefined) expect(Number.isFinite(next)).toBe(true);
      }
    });
  }
});
