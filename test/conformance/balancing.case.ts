// The conformance suite every balancing policy runs; a case a policy skips names its reason.
import { describe, expect, test } from "bun:test";
import { type EndpointRecord, buildPool } from "../../src/core/balancing/pool.ts";
import type { Picker, PoolEndpoint } from "../../src/core/balancing/picker.ts";
import type { Rng } from "../../src/core/time.ts";
import { createFakeClock, type FakeClock } from "../support/fake-clock.ts";
import { createSeededRng } from "../support/seeded-rng.ts";

export type CaseName =
  | "spreads unkeyed traffic"
  | "keeps a key on its endpoint whatever the pool order";

export interface ConformanceSubject {
  name: string;
  /** A fresh picker from a seed and a clock it may read. */
  make(seed: number, clock: FakeClock): Picker;
  skip?: Partial<Record<CaseName, string>>;
}

export function pool(weights: readonly number[], prefix = "ep"): PoolEndpoint[] {
  return weights.map((weight, i) => ({ id: `${prefix}-${i}`, address: "127.0.0.1", port: 10_000 + i, weight, active: 0 }));
}

const randomHash = (rng: Rng) => Math.floor(rng.next() * 4294967296);

/** Picks `count` times as the data plane would: onStart after a pick, onDone `window` picks later. */
export function drive(p: Picker, count: number, rng: Rng, clock: FakeClock, window = 8): number[] {
  const picks: number[] = [];
  const inFlight: number[] = [];
  const ctx = { hash: 0 };
  for (let k = 0; k < count; k++) {
    ctx.hash = randomHash(rng);
    const i = p.pick(ctx);
    picks.push(i);
    if (i < 0) continue;
    p.onStart?.(i);
    inFlight.push(i);
    if (inFlight.length > window) p.onDone?.(inFlight.shift()!, 1 + 50 * rng.next(), rng.next() > 0.1);
    clock.advance(1);
  }
  return picks;
}

export function runPickerConformance(subject: ConformanceSubject): void {
  const { name, make } = subject;
  const named = (c: CaseName, fn: () => void) => {
    const reason = subject.skip?.[c];
    if (reason) test.skip(`${c} (skipped: ${reason})`, fn);
    else test(c, fn);
  };

  describe(`${name} conformance`, () => {
    test("returns -1 before any update and on an empty pool", () => {
      const p = make(1, createFakeClock());
      expect(p.pick({ hash: 7 })).toBe(-1);
      p.update(pool([1, 2, 3]));
      p.update([]);
      for (let k = 0; k < 10; k++) expect(p.pick({ hash: k * 977 })).toBe(-1);
    });

    test("always picks the only endpoint of a one-endpoint pool", () => {
      const p = make(2, createFakeClock());
      p.update(pool([3]));
      for (let k = 0; k < 20; k++) expect(p.pick({ hash: k * 7919 })).toBe(0);
    });

    test("never picks an index out of range on random pools", () => {
      const rng = createSeededRng(3);
      const clock = createFakeClock();
      const p = make(3, clock);
      for (let round = 0; round < 25; round++) {
        const n = 1 + Math.floor(rng.next() * 40);
        p.update(pool(Array.from({ length: n }, () => 0.1 + 10 * rng.next())));
        for (const i of drive(p, 200, rng, clock)) {
          expect(i).toBeGreaterThanOrEqual(0);
          expect(i).toBeLessThan(n);
        }
      }
    });

    test("after an update to fewer endpoints picks only the remaining ones, and ignores stale feedback", () => {
      const rng = createSeededRng(4);
      const clock = createFakeClock();
      const p = make(4, clock);
      p.update(pool([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
      drive(p, 100, rng, clock);
      p.update(pool([2, 1, 3]));
      p.onDone?.(9, 5, true);
      p.onStart?.(-1);
      p.onDone?.(-1, 5, false);
      for (const i of drive(p, 300, rng, clock)) expect(i === 0 || i === 1 || i === 2).toBe(true);
    });

    test("two pickers with the same seed and clock pick the same sequence", () => {
      const run = () => {
        const clock = createFakeClock(1_000);
        const p = make(5, clock);
        p.update(pool([1, 3, 2, 5, 1, 1, 4]));
        return drive(p, 500, createSeededRng(55), clock);
      };
      expect(run()).toEqual(run());
    });

    test("only picks endpoints the pool marked eligible", () => {
      const states: Array<Pick<EndpointRecord, "health" | "draining" | "weight" | "ejectedUntil">> = [
        { health: "passing", draining: false, weight: 1 },
        { health: "critical", draining: false, weight: 5 },
        { health: "warning", draining: false, weight: 2 },
        { health: "passing", draining: true, weight: 5 },
        { health: "passing", draining: false, weight: 5, ejectedUntil: 60_000 },
        { health: "passing", draining: false, weight: 0 },
        { health: "passing", draining: false, weight: 3 },
        { health: "passing", draining: false, weight: 2 },
      ];
      const records: EndpointRecord[] = states.map((s, i) => ({ id: `r-${i}`, address: "127.0.0.1", port: 20_000 + i, active: 0, ...s }));
      const view = buildPool(records, 1_000);
      expect(view.panic).toBe(false);
      const clock = createFakeClock();
      const p = make(6, clock);
      p.update(view.endpoints);
      const allowed = new Set(["r-0", "r-2", "r-6", "r-7"]);
      for (const i of drive(p, 400, createSeededRng(66), clock)) expect(allowed.has(view.endpoints[i]!.id)).toBe(true);
    });

    test("every endpoint is picked eventually when requests stay open and keys vary", () => {
      const clock = createFakeClock();
      const p = make(7, clock);
      const weights = [1, 2, 3, 1, 2, 3, 1];
      p.update(pool(weights));
      const seen = new Set(drive(p, 3_000, createSeededRng(77), clock, Number.POSITIVE_INFINITY));
      expect([...seen].sort()).toEqual(weights.map((_, i) => i));
    });

    named("spreads unkeyed traffic", () => {
      const clock = createFakeClock();
      const p = make(8, clock);
      p.update(pool([1, 1, 1, 1]));
      const seen = new Set<number>();
      for (let k = 0; k < 100; k++) {
        const i = p.pick({ hash: 0 });
        seen.add(i);
        p.onStart?.(i);
      }
      expect(seen.size).toBeGreaterThan(1);
    });

    named("keeps a key on its endpoint whatever the pool order", () => {
      const endpoints = pool([1, 2, 3, 4, 5, 6]);
      const a = make(9, createFakeClock());
      const b = make(10, createFakeClock());
      a.update(endpoints);
      b.update([...endpoints].reverse());
      const rng = createSeededRng(99);
      for (let k = 0; k < 500; k++) {
        const hash = randomHash(rng);
        expect(endpoints[a.pick({ hash })]!.id).toBe([...endpoints].reverse()[b.pick({ hash })]!.id);
      }
    });
  });
}
