// random: weighted choice; the distribution itself is simulated in distribution.test.ts.
import { describe, expect, test } from "bun:test";
import { createRandom } from "../../../../src/core/balancing/random.ts";
import { pool } from "../../../conformance/balancing.case.ts";
import type { Rng } from "../../../../src/core/time.ts";

const fixed = (values: number[]): Rng => {
  let k = 0;
  return { next: () => values[k++ % values.length]! };
};

describe("random", () => {
  const table: Array<[number, number]> = [
    [0, 0],
    [0.09, 0],
    [0.1, 1],
    [0.29, 1],
    [0.3, 2],
    [0.59, 2],
    [0.6, 3],
    [0.999, 3],
  ];
  for (const [r, expected] of table) {
    test(`weights 1,2,3,4 with rng ${r} -> endpoint ${expected}`, () => {
      const p = createRandom({ rng: fixed([r]) });
      p.update(pool([1, 2, 3, 4]));
      expect(p.pick({ hash: 0 })).toBe(expected);
    });
  }

  test("equal weights take the uniform fast path", () => {
    const p = createRandom({ rng: fixed([0.5]) });
    p.update(pool([2, 2, 2, 2]));
    expect(p.pick({ hash: 0 })).toBe(2);
  });
});
