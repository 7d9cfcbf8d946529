import { describe, expect, test } from "bun:test";
import { createFlapDamper, createFlapDetector } from "../../../../src/core/health/flapping.ts";
import type { Status } from "../../../../src/core/health/status.ts";

const alternate = (n: number): Status[] => Array.from({ length: n }, (_, i) => (i % 2 ? "critical" : "passing"));

describe("flap detector", () => {
  test("a steady check never flaps", () => {
    const d = createFlapDetector();
    for (let i = 0; i < 50; i++) expect(d.record("passing").flapping).toBe(false);
    expect(d.percent).toBe(0);
  });

  test("a check alternating every result starts flapping once above 50%", () => {
    const d = createFlapDetector();
    const states = alternate(30).map((s) => d.record(s));
    const started = states.findIndex((s) => s.changed === "started");
    // Changes are weighted 0.8..1.2 (step 0.4/19) and divided by the full window of 20. The k newest weights
    // sum to 1.2k - (0.4/19)(0+1+..+k-1): k = 8 -> 9.01 (45.1%), k = 9 -> 10.04 (50.2%). So 9 changes,
    // seen on the 10th result, are the first to cross 50%.
    expect(started).toBe(9);
    expect(states[8].percent).toBeCloseTo(((8 * 1.2 - (0.4 / 19) * 28) / 20) * 100, 6);
    expect(states[9].percent).toBeCloseTo(((9 * 1.2 - (0.4 / 19) * 36) / 20) * 100, 6);
    expect(states.slice(9).every((s) => s.flapping)).toBe(true);
  });

  test("a short history is NOT enough to flap (divided by the full window)", () => {
    const d = createFlapDetector();
    const states = alternate(6).map((s) => d.record(s));
    expect(states.some((s) => s.flapping)).toBe(false);
  });

  test("flapping stops only once the weighted change rate drops below 25% (hysteresis)", () => {
    const d = createFlapDetector();
    for (const s of alternate(30)) d.record(s);
    const after: boolean[] = [];
    for (let i = 0; i < 20; i++) after.push(d.record("passing").flapping);
    const stoppedAt = after.indexOf(false);
    expect(stoppedAt).toBeGreaterThan(0);
    // Between 25% and 50% it keeps flapping: right before stopping the rate was >= 25%.
    expect(after.slice(stoppedAt).every((f) => !f)).toBe(true);
  });

  test("recent changes weigh more than old ones", () => {
    const early = createFlapDetector();
    const late = createFlapDetector();
    const base: Status[] = Array(21).fill("passing");
    const a = base.slice();
    a[1] = "critical"; // one blip early
    const b = base.slice();
    b[19] = "critical"; // one blip late
    for (const s of a) early.record(s);
    for (const s of b) late.record(s);
    expect(late.percent).toBeGreaterThan(early.percent);
  });

  test("disabled detection never flaps", () => {
    const d = createFlapDetector({ enabled: false });
    expect(alternate(40).map((s) => d.record(s)).some((s) => s.flapping)).toBe(false);
  });
});

describe("flap damper", () => {
  test("passes transitions through while not flapping", () => {
    const d = createFlapDamper();
    expect(d.observe("passing", "passing")).toEqual({ from: null, to: "passing", flapping: false, settled: false });
    expect(d.observe("passing", "passing")).toBeNull();
    expect(d.observe("critical", "critical")).toEqual({ from: "passing", to: "critical", flapping: false, settled: false });
  });

  test("says once that flapping started, then nothing until it settles, then only the settled state", () => {
    const d = createFlapDamper();
    const notes = alternate(30).map((s) => d.observe(s, s));
    const lastBefore = notes.slice(0, 9).filter((n) => n !== null).at(-1)!;
    expect(notes[9]).toEqual({ from: lastBefore.to, to: lastBefore.to, flapping: true, settled: false });
    expect(notes.slice(10).filter((n) => n !== null)).toEqual([]);
    const settledNotes = [];
    for (let i = 0; i < 20; i++) {
      const n = d.observe("warning", "warning");
      if (n) settledNotes.push(n);
    }
    expect(settledNotes).toEqual([{ from: lastBefore.to, to: "warning", flapping: false, settled: true }]);
  });

  test("settling in the state last notified is still reported, so the flapping flag clears", () => {
    const d = createFlapDamper();
    for (const s of alternate(30)) d.observe(s, s);
    const before = d.notified!;
    const notes = [];
    for (let i = 0; i < 20; i++) {
      const n = d.observe(before, before);
      if (n) notes.push(n);
    }
    expect(notes).toEqual([{ from: before, to: before, flapping: false, settled: true }]);
  });
});
