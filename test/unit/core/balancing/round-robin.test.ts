// round_robin: turns in order, weights ignored, cursor survives pool changes.
import { describe, expect, test } from "bun:test";
import { createRoundRobin } from "../../../../src/core/balancing/round-robin.ts";
import { pool } from "../../../conformance/balancing.case.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

describe("round_robin", () => {
  test("visits endpoints in order and wraps, ignoring weights", () => {
    const p = createRoundRobin();
    p.update(pool([1, 10, 100]));
    expect(Array.from({ length: 7 }, () => p.pick({ hash: 0 }))).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });

  test("keeps its place, modulo the new size, across an update", () => {
    const p = createRoundRobin();
    p.update(pool([1, 1, 1, 1, 1]));
    for (let k = 0; k < 4; k++) p.pick({ hash: 0 });
    p.update(pool([1, 1, 1]));
    expect([p.pick({ hash: 0 }), p.pick({ hash: 0 })]).toEqual([1, 2]);
  });

  test("starts at an rng-chosen position so workers do not march in step", () => {
    const starts = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const p = createRoundRobin({ rng: createSeededRng(seed) });
      p.update(pool([1, 1, 1, 1, 1, 1, 1, 1]));
      starts.add(p.pick({ hash: 0 }));
    }
    expect(starts.size).toBeGreaterThan(3);
  });
});
