// weighted_round_robin: nginx's smooth sequence for small pools, an equally smooth deadline schedule for large ones.
import { describe, expect, test } from "bun:test";
import { EXACT_MAX, createWeightedRoundRobin } from "../../../../src/core/balancing/weighted-round-robin.ts";
import { pool } from "../../../conformance/balancing.case.ts";

function sequence(weights: number[], count: number): string {
  const p = createWeightedRoundRobin();
  p.update(pool(weights));
  return Array.from({ length: count }, () => "abcdefghij"[p.pick({ hash: 0 })]).join("");
}

describe("weighted_round_robin", () => {
  const table: Array<[number[], string]> = [
    [[5, 1, 1], "aabacaa"], // nginx's documented sequence for weights 5, 1, 1
    [[1, 1, 1], "abcabc"],
    [[2, 1], "abaaba"],
    [[4, 2, 1], "abacaba"],
    [[3, 0.5], "aaabaaa"], // fractional effective weights (warning, slow start) work too
  ];
  for (const [weights, expected] of table) {
    test(`weights ${weights.join(",")} -> ${expected}`, () => {
      expect(sequence(weights, expected.length)).toBe(expected);
    });
  }

  test("contrast: never sends a heavy endpoint its whole share in one burst", () => {
    // Plain WRR would give aaaaabc; the smooth one interleaves within each period.
    expect(sequence([5, 1, 1], 7)).not.toBe("aaaaabc");
  });

  test("large pools keep every endpoint within one pick of its exact share after every pick", () => {
    const weights = Array.from({ length: EXACT_MAX * 3 }, (_, i) => 1 + (i % 7));
    const total = weights.reduce((a, b) => a + b, 0);
    const p = createWeightedRoundRobin();
    p.update(pool(weights));
    const counts = new Float64Array(weights.length);
    for (let k = 1; k <= total * 3; k++) {
      counts[p.pick({ hash: 0 })]! += 1;
      if (k % 17 !== 0) continue;
      weights.forEach((w, i) => expect(Math.abs(counts[i]! - (k * w) / total)).toBeLessThanOrEqual(1));
    }
    weights.forEach((w, i) => expect(counts[i]).toBe(3 * w));
  });
});
