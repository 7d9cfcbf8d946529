// least_request: power of two choices on in-flight per weight.
import { describe, expect, test } from "bun:test";
import { createLeastRequest } from "../../../../src/core/balancing/least-request.ts";
import { pool } from "../../../conformance/balancing.case.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

describe("least_request", () => {
  test("with two endpoints always compares both, so the loaded one is never picked", () => {
    const p = createLeastRequest({ rng: createSeededRng(1) });
    p.update(pool([1, 1]));
    for (let k = 0; k < 5; k++) p.onStart!(0);
    for (let k = 0; k < 50; k++) expect(p.pick({ hash: 0 })).toBe(1);
  });

  test("weight decides between idle endpoints", () => {
    const p = createLeastRequest({ rng: createSeededRng(2) });
    p.update(pool([1, 4]));
    expect(p.pick({ hash: 0 })).toBe(1);
  });

  test("avoids a hot endpoint most of the time in a larger pool", () => {
    const p = createLeastRequest({ rng: createSeededRng(3) });
    p.update(pool(Array(10).fill(1)));
    for (let k = 0; k < 100; k++) p.onStart!(4);
    let hot = 0;
    for (let k = 0; k < 10_000; k++) if (p.pick({ hash: 0 }) === 4) hot++;
    expect(hot).toBe(0); // two distinct candidates: the hot one always loses its comparison
  });

  test("more choices find the one idle endpoint more often", () => {
    const idleShare = (choices: number) => {
      const p = createLeastRequest({ rng: createSeededRng(4), choices });
      const endpoints = pool(Array(10).fill(1));
      endpoints.forEach((e, i) => (e.active = i === 7 ? 0 : 1));
      p.update(endpoints);
      let idle = 0;
      for (let k = 0; k < 10_000; k++) if (p.pick({ hash: 0 }) === 7) idle++;
      return idle / 10_000;
    };
    expect(idleShare(2)).toBeCloseTo(0.2, 1);
    expect(idleShare(8)).toBeGreaterThan(idleShare(2) + 0.2);
  });
});
