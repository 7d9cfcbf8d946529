// Seeded simulations: weighted policies honour weights; load-aware policies spread held load by weight.
import { describe, expect, test } from "bun:test";
import { type Algorithm, createPicker } from "../../../../src/core/balancing/index.ts";
import { pool } from "../../../conformance/balancing.case.ts";
import { createFakeClock } from "../../../support/fake-clock.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

const PICKS = 100_000;
const TOLERANCE = 0.05; // relative to each endpoint's expected share

const SMALL = [1, 2, 3, 4];
const LARGE = Array.from({ length: 40 }, (_, i) => 1 + (i % 5)); // above the exact-nginx cutoff
// Random keys (and random's rng) add sampling noise: at 100,000 picks a 1/30 share has a 1.7% standard
// deviation, a 1/120 share 3.5%, so pools for sampled policies keep the smallest share near 1/30.
const MEDIUM = Array.from({ length: 12 }, (_, i) => 1 + (i % 4));

const cases: Array<{ algorithm: Algorithm; weights: number[]; extra?: object }> = [
  { algorithm: "weighted_round_robin", weights: SMALL },
  { algorithm: "weighted_round_robin", weights: LARGE },
  { algorithm: "random", weights: SMALL },
  { algorithm: "random", weights: MEDIUM },
  { algorithm: "ip_hash", weights: SMALL },
  { algorithm: "ip_hash", weights: MEDIUM },
  { algorithm: "consistent_hash", weights: SMALL },
  { algorithm: "consistent_hash", weights: MEDIUM },
  { algorithm: "maglev", weights: SMALL },
  { algorithm: "maglev", weights: MEDIUM },
];

describe("weighted policies over 100,000 seeded picks", () => {
  for (const { algorithm, weights, extra } of cases) {
    test(`${algorithm} gives each of ${weights.length} endpoints its weight's share within ±5%`, () => {
      const p = createPicker(algorithm, { rng: createSeededRng(11), clock: createFakeClock(), ...extra });
      p.update(pool(weights));
      const counts = new Float64Array(weights.length);
      const keys = createSeededRng(12);
      const ctx = { hash: 0 };
      for (let k = 0; k < PICKS; k++) {
        ctx.hash = Math.floor(keys.next() * 4294967296);
        counts[p.pick(ctx)]! += 1;
      }
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((w, i) => {
        const expected = (PICKS * w) / total;
        expect(Math.abs(counts[i]! - expected) / expected).toBeLessThanOrEqual(TOLERANCE);
      });
    });
  }

  test("contrast: consistent_hash at a sparse 64 points per weight unit is NOT within ±5% for small pools", () => {
    const p = createPicker("consistent_hash", { rng: createSeededRng(1), clock: createFakeClock(), pointsPerWeight: 64 });
    p.update(pool(SMALL));
    const counts = new Float64Array(SMALL.length);
    const keys = createSeededRng(12);
    for (let k = 0; k < PICKS; k++) counts[p.pick({ hash: Math.floor(keys.next() * 4294967296) })]! += 1;
    const worst = Math.max(...SMALL.map((w, i) => Math.abs(counts[i]! - (PICKS * w) / 10) / ((PICKS * w) / 10)));
    expect(worst).toBeGreaterThan(TOLERANCE);
  });
});

describe("load-aware policies with requests held open", () => {
  const weights = [1, 2, 3, 4];
  for (const algorithm of ["least_connections", "least_request", "peak_ewma"] as const) {
    test(`${algorithm} spreads 1,000 open requests in proportion to weight (±5%)`, () => {
      const p = createPicker(algorithm, { rng: createSeededRng(21), clock: createFakeClock() });
      p.update(pool(weights));
      const held = new Float64Array(weights.length);
      for (let k = 0; k < 1_000; k++) {
        const i = p.pick({ hash: 0 });
        p.onStart?.(i);
        held[i]! += 1;
      }
      weights.forEach((w, i) => {
        const expected = (1_000 * w) / 10;
        expect(Math.abs(held[i]! - expected) / expected).toBeLessThanOrEqual(TOLERANCE);
      });
    });
  }
});
