// The two-level pick of a rollout's traffic split: the revision's share is the step's percent at every algorithm
// whatever the replica counts and weights, and inside each side the algorithm keeps its own behaviour.
import { describe, expect, test } from "bun:test";
import { ALGORITHMS, type Algorithm, createPicker, KEYED_ALGORITHMS } from "../../../../src/core/balancing/index.ts";
import type { PoolEndpoint } from "../../../../src/core/balancing/picker.ts";
import { createSplitPicker } from "../../../../src/core/balancing/split.ts";
import { createFakeClock } from "../../../support/fake-clock.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

const ep = (i: number, revision: number | undefined, weight = 1): PoolEndpoint => ({ id: `e${i}`, address: "10.0.0.1", port: 8000 + i, weight, active: 0, ...(revision !== undefined ? { revision } : {}) });

function splitPicker(algorithm: Algorithm, seed = 1) {
  const rng = createSeededRng(seed);
  const clock = createFakeClock();
  return createSplitPicker(() => createPicker(algorithm, { rng, clock }), { keyed: KEYED_ALGORITHMS.includes(algorithm) });
}

/** `n` picks, each completed at once (so load-aware policies see feedback); keyed ones get distinct random keys. */
function run(p: ReturnType<typeof splitPicker>, pool: PoolEndpoint[], n: number, keySeed = 9): number[] {
  const counts = new Array<number>(pool.length).fill(0);
  const keys = createSeededRng(keySeed);
  const ctx = { hash: 0 };
  for (let k = 0; k < n; k++) {
    ctx.hash = (Math.floor(keys.next() * 4294967295) + 1) >>> 0;
    const i = p.pick(ctx);
    counts[i]! += 1;
    p.onStart?.(i);
    p.onDone?.(i, 1 + (k % 3), true);
  }
  return counts;
}

// 1 canary (revision 2) beside 3 old replicas with operator weights 1, 2, 3: 25% by count, 1/7 by weight.
const CANARY_POOL = () => [ep(0, 1, 1), ep(1, 2, 1), ep(2, 1, 2), ep(3, 1, 3)];

describe("the split's share over 10,000 picks", () => {
  for (const algorithm of ALGORITHMS) {
    const keyed = KEYED_ALGORITHMS.includes(algorithm);
    for (const percent of [5, 10, 50]) {
      test(`${algorithm}: revision 2 takes ${percent}% ${keyed ? "of 10,000 distinct keys within ±2 points" : "exactly (±1 pick)"}, not its replica or weight ratio`, () => {
        const p = splitPicker(algorithm);
        p.setSplit({ revision: 2, percent });
        const pool = CANARY_POOL();
        p.update(pool);
        expect(p.active()).toEqual({ revision: 2, percent });
        const counts = run(p, pool, 10_000);
        const share = (counts[1]! / 10_000) * 100;
        if (keyed) expect(Math.abs(share - percent)).toBeLessThanOrEqual(2);
        else expect(Math.abs(counts[1]! - percent * 100)).toBeLessThanOrEqual(1);
      });
    }
  }

  test("round robin's share holds over every window, not only on average: any 20 picks at 10% hold exactly 2", () => {
    const p = splitPicker("round_robin");
    p.setSplit({ revision: 2, percent: 10 });
    const pool = CANARY_POOL();
    p.update(pool);
    const seq = Array.from({ length: 200 }, () => p.pick({ hash: 0 }));
    for (let k = 0; k + 20 <= seq.length; k += 20) expect(seq.slice(k, k + 20).filter((i) => i === 1).length).toBe(2);
  });

  test("a pool rebuild under the same split keeps the sequence (slow start and ejections rebuild often); a new percent restarts it", () => {
    const p = splitPicker("round_robin");
    p.setSplit({ revision: 2, percent: 10 });
    const pool = CANARY_POOL();
    p.update(pool);
    let canary = 0;
    for (let k = 0; k < 1000; k++) {
      if (k % 7 === 0) p.update(pool);
      if (p.pick({ hash: 0 }) === 1) canary++;
    }
    expect(canary).toBe(100);
  });
});

describe("inside a side the algorithm keeps its behaviour", () => {
  test("round_robin cycles through the old revision's replicas in turn, ignoring their weights as it does without a split", () => {
    const p = splitPicker("round_robin");
    p.setSplit({ revision: 2, percent: 25 });
    const pool = CANARY_POOL();
    p.update(pool);
    const counts = run(p, pool, 8_000);
    expect(counts).toEqual([2000, 2000, 2000, 2000]);
  });

  test("weighted_round_robin keeps the operator's weights among the old replicas (1:2:3)", () => {
    const p = splitPicker("weighted_round_robin");
    p.setSplit({ revision: 2, percent: 10 });
    const pool = CANARY_POOL();
    p.update(pool);
    const counts = run(p, pool, 6_000);
    expect(counts[1]).toBe(600);
    expect([counts[0], counts[2], counts[3]]).toEqual([900, 1800, 2700]);
  });

  test("least_request sends a side's picks away from its replica holding requests in flight", () => {
    const p = splitPicker("least_request");
    p.setSplit({ revision: 2, percent: 10 });
    const pool = [ep(0, 1), ep(1, 2), ep(2, 1), ep(3, 1)];
    p.update(pool);
    // Replica e0 holds 50 requests that do not end.
    for (let k = 0; k < 50; k++) p.onStart?.(0);
    const counts = run(p, pool, 3_000);
    expect(counts[1]).toBe(300);
    expect(counts[0]!).toBeLessThan(counts[2]! / 4);
    expect(counts[0]!).toBeLessThan(counts[3]! / 4);
  });

  test("peak_ewma sends a side's picks away from its slow replica", () => {
    const p = splitPicker("peak_ewma");
    p.setSplit({ revision: 2, percent: 20 });
    const pool = [ep(0, 1), ep(1, 2), ep(2, 1)];
    p.update(pool);
    const counts = [0, 0, 0];
    for (let k = 0; k < 5_000; k++) {
      const i = p.pick({ hash: 0 });
      counts[i]! += 1;
      p.onStart?.(i);
      p.onDone?.(i, i === 0 ? 200 : 2, true);
    }
    expect(counts[1]).toBe(1000);
    expect(counts[0]!).toBeLessThan(counts[2]! / 4);
  });

  for (const algorithm of KEYED_ALGORITHMS) {
    test(`${algorithm}: a key lands on the same replica every time while the split holds, and keys spread over the side`, () => {
      const p = splitPicker(algorithm);
      p.setSplit({ revision: 2, percent: 30 });
      const pool = [ep(0, 1), ep(1, 2), ep(2, 1), ep(3, 2), ep(4, 1)];
      p.update(pool);
      const keys = createSeededRng(3);
      const seen = new Map<number, number>();
      const counts = [0, 0, 0, 0, 0];
      for (let k = 0; k < 5_000; k++) {
        const hash = (Math.floor(keys.next() * 1000) * 2654435761 + 1) >>> 0; // 1,000 distinct keys, each seen ~5 times
        const i = p.pick({ hash });
        if (seen.has(hash)) expect(i).toBe(seen.get(hash)!);
        seen.set(hash, i);
        counts[i]! += 1;
      }
      for (const c of counts) expect(c).toBeGreaterThan(400);
    });
  }

  test("a key's revision moves one way as the percent grows: a key on the new revision at 10% stays on it at 50%", () => {
    const p = splitPicker("consistent_hash");
    const pool = [ep(0, 1), ep(1, 2), ep(2, 1)];
    const on = (percent: number) => {
      p.setSplit({ revision: 2, percent });
      p.update(pool);
      const keys = createSeededRng(5);
      return Array.from({ length: 2_000 }, () => p.pick({ hash: (Math.floor(keys.next() * 4294967295) + 1) >>> 0 }) === 1);
    };
    const at10 = on(10);
    const at50 = on(50);
    at10.forEach((canary, k) => {
      if (canary) expect(at50[k]).toBe(true);
    });
  });

  test("a keyed policy without its key (hash 0) falls back to the round robin's exact share", () => {
    const p = splitPicker("maglev");
    p.setSplit({ revision: 2, percent: 10 });
    const pool = CANARY_POOL();
    p.update(pool);
    let canary = 0;
    for (let k = 0; k < 1000; k++) if (p.pick({ hash: 0 }) === 1) canary++;
    expect(canary).toBe(100);
  });
});

describe("edges", () => {
  test("0% and 100% send nothing to one side", () => {
    for (const [percent, expectCanary] of [[0, 0], [100, 1000]] as const) {
      const p = splitPicker("least_request");
      p.setSplit({ revision: 2, percent });
      const pool = CANARY_POOL();
      p.update(pool);
      expect(run(p, pool, 1000)[1]).toBe(expectCanary);
    }
  });

  test("with a side empty (no replica of the revision eligible, or only it) the whole pool is picked as without a split", () => {
    const p = splitPicker("round_robin");
    p.setSplit({ revision: 7, percent: 90 });
    const pool = CANARY_POOL();
    p.update(pool);
    expect(p.active()).toBeNull();
    expect(run(p, pool, 4000)).toEqual([1000, 1000, 1000, 1000]);
    const only = [ep(0, 7), ep(1, 7)];
    p.update(only);
    expect(p.active()).toBeNull();
    expect(run(p, only, 100)).toEqual([50, 50]);
  });

  test("the split applies from the next update and clears with null; an empty pool picks -1", () => {
    const p = splitPicker("weighted_round_robin");
    const pool = CANARY_POOL();
    p.update(pool);
    p.setSplit({ revision: 2, percent: 50 });
    expect(p.active()).toBeNull();
    p.update(pool);
    expect(run(p, pool, 1000)[1]).toBe(500);
    p.setSplit(null);
    p.update(pool);
    expect(run(p, pool, 7000)).toEqual([1000, 1000, 2000, 3000]);
    p.update([]);
    expect(p.pick({ hash: 0 })).toBe(-1);
  });

  test("feedback after a rebuild goes to the endpoint's new side and index (least_request's counts stay right)", () => {
    const p = splitPicker("least_request");
    p.setSplit({ revision: 2, percent: 50 });
    const pool = [ep(0, 1), ep(1, 2), ep(2, 1), ep(3, 2)];
    p.update(pool);
    for (let k = 0; k < 30; k++) p.onStart?.(3);
    // The pool reorders: e3 is now index 0; its 30 in flight come with it through `active`.
    pool[3]!.active = 30;
    const reordered = [pool[3]!, pool[0]!, pool[1]!, pool[2]!];
    p.update(reordered);
    for (let k = 0; k < 30; k++) p.onDone?.(0, 1, true);
    pool[3]!.active = 0;
    const counts = run(p, reordered, 2000);
    // e3 (index 0) and e1 (index 2) share the new side evenly once its requests ended.
    expect(Math.abs(counts[0]! - counts[2]!)).toBeLessThan(200);
  });
});
