// Property tests over random pools and random operation sequences, for every algorithm and for the pool.
import { describe, expect, test } from "bun:test";
import { ALGORITHMS, createPicker, KEYED_ALGORITHMS } from "../../../../src/core/balancing/index.ts";
import { createSplitPicker } from "../../../../src/core/balancing/split.ts";
import { type EndpointRecord, type HealthStatus, buildPool } from "../../../../src/core/balancing/pool.ts";
import { pool } from "../../../conformance/balancing.case.ts";
import { createFakeClock } from "../../../support/fake-clock.ts";
import { createSeededRng } from "../../../support/seeded-rng.ts";

describe("random operation sequences", () => {
  for (const name of ALGORITHMS) {
    test(`${name}: picks stay in range and -1 means exactly an empty pool, through 3,000 random operations`, () => {
      const rng = createSeededRng(name.length * 7919);
      const clock = createFakeClock();
      const p = createPicker(name, { rng: createSeededRng(1), clock, tableSize: 1_009 });
      let n = 0;
      for (let op = 0; op < 3_000; op++) {
        const r = rng.next();
        if (r < 0.02) {
          n = Math.floor(rng.next() * 30);
          p.update(pool(Array.from({ length: n }, () => (rng.next() < 0.1 ? 0.01 : 1 + Math.floor(rng.next() * 9)))));
        } else if (r < 0.3) {
          p.onStart?.(Math.floor(rng.next() * (n + 4)) - 2);
        } else if (r < 0.5) {
          p.onDone?.(Math.floor(rng.next() * (n + 4)) - 2, rng.next() * 1_000, rng.next() < 0.8);
        } else if (r < 0.55) {
          clock.advance(rng.next() * 20_000);
        } else {
          const i = p.pick({ hash: Math.floor(rng.next() * 4294967296) });
          if (n === 0) expect(i).toBe(-1);
          else expect(i >= 0 && i < n).toBe(true);
        }
      }
    });
  }
});

describe("random operation sequences under a traffic split", () => {
  for (const name of ALGORITHMS) {
    test(`${name} behind the split: picks stay in range and a 0% or 100% split keeps to one side, through 3,000 random operations`, () => {
      const rng = createSeededRng(name.length * 104729);
      const clock = createFakeClock();
      const p = createSplitPicker(() => createPicker(name, { rng: createSeededRng(1), clock, tableSize: 1_009 }), { keyed: KEYED_ALGORITHMS.includes(name) });
      let endpoints = pool([]);
      for (let op = 0; op < 3_000; op++) {
        const r = rng.next();
        const n = endpoints.length;
        if (r < 0.03) {
          if (rng.next() < 0.3) p.setSplit(rng.next() < 0.2 ? null : { revision: 2, percent: Math.floor(rng.next() * 101) });
          endpoints = pool(Array.from({ length: Math.floor(rng.next() * 12) }, () => 1 + Math.floor(rng.next() * 9))).map((e) => ({ ...e, ...(rng.next() < 0.3 ? { revision: 2 } : { revision: 1 }) }));
          p.update(endpoints);
        } else if (r < 0.3) {
          p.onStart?.(Math.floor(rng.next() * (n + 4)) - 2);
        } else if (r < 0.5) {
          p.onDone?.(Math.floor(rng.next() * (n + 4)) - 2, rng.next() * 1_000, rng.next() < 0.8);
        } else if (r < 0.55) {
          clock.advance(rng.next() * 20_000);
        } else {
          const i = p.pick({ hash: 0 });
          if (n === 0) expect(i).toBe(-1);
          else expect(i >= 0 && i < n).toBe(true);
          const split = p.active();
          if (split?.percent === 0) expect(endpoints[i]!.revision).toBe(1);
          if (split?.percent === 100) expect(endpoints[i]!.revision).toBe(2);
        }
      }
    });
  }
});

describe("pool properties over random records", () => {
  const healths: HealthStatus[] = ["passing", "warning", "critical"];
  test("never offers draining or zero-weight endpoints, and outside panic only healthy ones, all with weight > 0", () => {
    const rng = createSeededRng(424242);
    for (let round = 0; round < 500; round++) {
      const now = 50_000;
      const records: EndpointRecord[] = Array.from({ length: Math.floor(rng.next() * 12) }, (_, i) => ({
        id: `r${i}`,
        address: "127.0.0.1",
        port: 1,
        weight: rng.next() < 0.1 ? 0 : rng.next() * 10,
        health: healths[Math.floor(rng.next() * 3)]!,
        draining: rng.next() < 0.15,
        ejectedUntil: rng.next() < 0.2 ? now + 1_000 : undefined,
        addedAt: rng.next() < 0.3 ? now - rng.next() * 90_000 : undefined,
        active: 0,
      }));
      const view = buildPool(records, now, { slowStart: { windowMs: 60_000 } });
      for (const e of view.endpoints) {
        const r = records[e.source]!;
        expect(r.draining).toBe(false);
        expect(r.weight > 0 && e.weight > 0 && e.weight <= r.weight).toBe(true);
        if (!view.panic) expect(r.health !== "critical" && !(r.ejectedUntil! > now)).toBe(true);
      }
      if (view.endpoints.length === 0) expect(records.every((r) => r.draining || !(r.weight > 0)) || !view.panic).toBe(true);
    }
  });
});
