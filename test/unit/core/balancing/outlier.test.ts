// outlier detection: consecutive failures eject, time brings endpoints back, the budget caps ejections.
import { describe, expect, test } from "bun:test";
import { type Outcome, OutlierReason, createOutlierDetector } from "../../../../src/core/balancing/outlier.ts";

const ids = Array.from({ length: 20 }, (_, i) => `e${i}`);

function detector(n = 20) {
  const d = createOutlierDetector();
  d.setEndpoints(ids.slice(0, n), 0);
  return d;
}

function feed(d: ReturnType<typeof detector>, id: string, outcomes: Outcome[], now = 0) {
  return outcomes.map((o) => d.record(id, o, now)).filter((x) => x !== undefined);
}

describe("outlier detection", () => {
  const table: Array<[string, Outcome[], OutlierReason | null]> = [
    ["five 500s", [500, 500, 500, 500, 500], OutlierReason.consecutive5xx],
    ["four 500s", [500, 500, 500, 500], null],
    ["four 500s, a 200, one 500", [500, 500, 500, 500, 200, 500], null],
    ["a 404 is not a failure", [500, 500, 404, 500, 500, 500], null],
    ["five connect errors", ["connect_error", "reset", "timeout", "connect_error", "reset"], OutlierReason.consecutiveGatewayFailure],
    ["five 502/503/504", [502, 503, 504, 502, 503], OutlierReason.consecutiveGatewayFailure],
    ["gateway failures broken by a 500 still count as 5xx", [502, 502, 500, 502, 502], OutlierReason.consecutive5xx],
  ];
  for (const [what, outcomes, reason] of table) {
    test(`${what} -> ${reason ?? "stays in"}`, () => {
      const decisions = feed(detector(), "e1", outcomes);
      if (reason === null) expect(decisions).toEqual([]);
      else expect(decisions.map((d) => [d.action, d.reason])).toEqual([["eject", reason]]);
    });
  }

  test("ejection time grows 30 s per ejection and caps at 300 s", () => {
    const d = detector();
    let now = 0;
    const durations: number[] = [];
    for (let round = 0; round < 12; round++) {
      const [decision] = feed(d, "e1", [500, 500, 500, 500, 500], now);
      durations.push(decision!.ejectionMs);
      now = decision!.untilMs;
      expect(d.tick(now).map((x) => [x.id, x.action, x.reason])).toEqual([["e1", "uneject", OutlierReason.ejectionElapsed]]);
    }
    expect(durations).toEqual([30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300].map((s) => s * 1_000));
  });

  test("stays ejected until its time is up; ejectedUntil reports it", () => {
    const d = detector();
    feed(d, "e1", [500, 500, 500, 500, 500], 1_000);
    expect(d.ejectedUntil("e1")).toBe(31_000);
    expect(d.tick(30_999)).toEqual([]);
    expect(d.tick(31_000)).toHaveLength(1);
    expect(d.ejectedUntil("e1")).toBe(0);
  });

  test("the multiplier decays by one per quiet interval", () => {
    const d = detector();
    feed(d, "e1", [500, 500, 500, 500, 500], 0);
    d.tick(30_000);
    for (let t = 40_000; t <= 60_000; t += 10_000) d.tick(t);
    const [again] = feed(d, "e1", [500, 500, 500, 500, 500], 70_000);
    expect(again!.timesEjected).toBe(1);
  });

  test("at most 10% of endpoints are ejected at once; the next is refused with a reason", () => {
    const d = detector(20);
    expect(feed(d, "e1", Array(5).fill(500))[0]!.action).toBe("eject");
    expect(feed(d, "e2", Array(5).fill(500))[0]!.action).toBe("eject");
    const [refused] = feed(d, "e3", Array(5).fill(500));
    expect([refused!.action, refused!.reason]).toEqual(["skip", OutlierReason.maxEjectionPercent]);
  });

  test("at least one endpoint may be ejected even in a small pool", () => {
    const d = detector(3);
    expect(feed(d, "e0", Array(5).fill(503))[0]!.action).toBe("eject");
    expect(feed(d, "e1", Array(5).fill(503))[0]!.action).toBe("skip");
  });

  test("removing an ejected endpoint frees its place in the budget", () => {
    const d = detector(3);
    feed(d, "e0", Array(5).fill(500));
    d.setEndpoints(["e1", "e2"], 0);
    expect(feed(d, "e1", Array(5).fill(500))[0]!.action).toBe("eject");
  });

  test("outcomes for unknown endpoints are ignored", () => {
    expect(feed(detector(), "nope", Array(10).fill(500))).toEqual([]);
  });
});
