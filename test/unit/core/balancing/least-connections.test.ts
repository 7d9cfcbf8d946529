// least_connections: fewest in-flight per weight wins, ties rotate, feedback moves the choice.
import { describe, expect, test } from "bun:test";
import { createLeastConnections } from "../../../../src/core/balancing/least-connections.ts";
import { pool } from "../../../conformance/balancing.case.ts";

describe("least_connections", () => {
  test("with equal weights and no load, rotates like round robin", () => {
    const p = createLeastConnections();
    p.update(pool([1, 1, 1]));
    expect(Array.from({ length: 6 }, () => p.pick({ hash: 0 }))).toEqual([0, 1, 2, 0, 1, 2]);
  });

  test("held connections end up exactly proportional to weight", () => {
    const p = createLeastConnections();
    p.update(pool([1, 2, 3]));
    const held = [0, 0, 0];
    for (let k = 0; k < 60; k++) {
      const i = p.pick({ hash: 0 });
      p.onStart!(i);
      held[i]!++;
    }
    expect(held).toEqual([10, 20, 30]);
  });

  test("an endpoint that finishes a request is picked next", () => {
    const p = createLeastConnections();
    p.update(pool([1, 1, 1]));
    for (let k = 0; k < 6; k++) p.onStart!(p.pick({ hash: 0 }));
    p.onDone!(1, 5, true);
    expect(p.pick({ hash: 0 })).toBe(1);
  });

  test("seeds in-flight counts from `active` on update", () => {
    const p = createLeastConnections();
    const endpoints = pool([1, 1, 1]);
    endpoints[0]!.active = 5;
    endpoints[2]!.active = 5;
    p.update(endpoints);
    expect([p.pick({ hash: 0 }), p.pick({ hash: 0 })]).toEqual([1, 1]);
  });

  test("contrast: without feedback the heaviest endpoint takes everything", () => {
    const p = createLeastConnections();
    p.update(pool([1, 2, 3]));
    expect(new Set(Array.from({ length: 10 }, () => p.pick({ hash: 0 })))).toEqual(new Set([2]));
  });

  test("onDone never drives a count below zero", () => {
    const p = createLeastConnections();
    p.update(pool([1, 1]));
    p.onDone!(0, 1, true);
    p.onDone!(0, 1, true);
    p.onStart!(1);
    expect(p.pick({ hash: 0 })).toBe(0);
  });
});
