import { describe, expect, test } from "bun:test";
import { decide, initialLadder, type LadderConfig, type LadderEvent, type LadderState } from "../../../../src/core/healing/ladder.ts";

const cfg: LadderConfig = {
  rungs: [
    { rung: "restart", attempts: 2, backoffMs: 1000 },
    { rung: "replace", attempts: 1, backoffMs: 3000 },
    { rung: "scale_out", attempts: 1, backoffMs: 5000 },
    { rung: "failover", attempts: 1, backoffMs: 5000 },
  ],
  recoverAfterMs: 10_000,
  maxBackoffMs: 60_000,
};

/** Runs (time, event) pairs; returns "t reason actions" lines. */
function run(steps: Array<[number, LadderEvent]>, start: LadderState = initialLadder(0)): string[] {
  let s = start;
  return steps.map(([t, e]) => {
    const d = decide(s, e, t, cfg);
    s = d.state;
    return `${t} ${d.reason}${d.actions.length ? ` ${d.actions.map((a) => ("attempt" in a ? `${a.type}#${a.attempt}` : a.type)).join(",")}` : ""}`;
  });
}
const bad: LadderEvent = { type: "verdict", healthy: false };
const good: LadderEvent = { type: "verdict", healthy: true };
const tick: LadderEvent = { type: "tick" };

describe("recovery ladder", () => {
  test("a target that stays unhealthy climbs restart (with backoff) -> replace -> scale out -> failover -> alert, in that order", () => {
    expect(run([[0, bad], [500, tick], [1000, tick], [2000, tick], [3000, tick], [6000, tick], [11000, tick], [16000, tick], [99000, tick]])).toEqual([
      "0 became_unhealthy restart#1",
      "500 waiting_backoff",
      "1000 retry_rung restart#2",
      "2000 waiting_backoff", // the second attempt waits twice as long (2 s)
      "3000 next_rung replace#1",
      "6000 next_rung scale_out#1",
      "11000 next_rung failover#1",
      "16000 ladder_exhausted alert",
      "99000 ladder_exhausted",
    ]);
  });

  test("recovery needs the healthy verdict held for recoverAfterMs, then undoes failover and the extra capacity", () => {
    expect(run([[0, bad], [1000, tick], [3000, tick], [6000, tick], [11000, tick], [12000, good], [15000, tick], [22000, tick]])).toEqual([
      "0 became_unhealthy restart#1",
      "1000 retry_rung restart#2",
      "3000 next_rung replace#1",
      "6000 next_rung scale_out#1",
      "11000 next_rung failover#1",
      "12000 recovering",
      "15000 recovering",
      "22000 recovered failback,scale_in",
    ]);
  });

  test("a relapse during the hysteresis does NOT reset the ladder: it goes on from its rung", () => {
    expect(run([[0, bad], [1000, tick], [1500, good], [2000, bad], [3000, tick]])).toEqual([
      "0 became_unhealthy restart#1",
      "1000 retry_rung restart#2",
      "1500 recovering",
      "2000 relapsed",
      "3000 next_rung replace#1",
    ]);
  });

  test("a target recovered after one restart undoes nothing", () => {
    expect(run([[0, bad], [100, good], [10100, tick], [10200, tick]])).toEqual(["0 became_unhealthy restart#1", "100 recovering", "10100 recovered", "10200 healthy"]);
  });
});

describe("a rung that does not apply", () => {
  test("skipped moves to the next rung at once and undoes nothing for it", () => {
    let s = initialLadder(0);
    const step = (e: LadderEvent, t: number) => {
      const d = decide(s, e, t, cfg);
      s = d.state;
      return d;
    };
    step(bad, 0); // restart#1
    step(tick, 1000); // restart#2
    step(tick, 3000); // replace#1
    const scale = step(tick, 6000);
    expect(scale.actions).toEqual([{ type: "scale_out", attempt: 1 }]);
    const skipped = step({ type: "skipped" }, 6001);
    expect(skipped.reason).toBe("rung_skipped");
    expect(skipped.actions).toEqual([{ type: "failover", attempt: 1 }]);
    expect(skipped.state.scaledOut).toBe(false);
    const exhausted = step({ type: "skipped" }, 6002);
    expect(exhausted).toMatchObject({ reason: "ladder_exhausted", actions: [{ type: "alert" }] });
    // Nothing was scaled out or failed over, so recovery undoes nothing.
    step(good, 7000);
    expect(step(tick, 17_000)).toMatchObject({ reason: "recovered", actions: [] });
  });

  test("contrast: skipped on a healthy target does nothing", () => {
    expect(decide(initialLadder(0), { type: "skipped" }, 5, cfg)).toMatchObject({ reason: "healthy", actions: [] });
  });
});

describe("a ladder state kept from a longer ladder (rungs shortened in the config, then a restart)", () => {
  const short: LadderConfig = { ...cfg, rungs: [{ rung: "restart", attempts: 1, backoffMs: 1000 }] };
  const onFailover: LadderState = { phase: "climbing", rung: 3, attempt: 1, nextAt: 100, since: 0, scaledOut: true, failedOver: true };

  test("its next tick exhausts the ladder and alerts, keeping what must be undone", () => {
    const d = decide(onFailover, { type: "tick" }, 200, short);
    expect(d.actions).toEqual([{ type: "alert" }]);
    expect(d.state).toMatchObject({ phase: "exhausted", scaledOut: true, failedOver: true });
  });

  test("a skipped step on the gone rung exhausts it too", () => {
    const d = decide(onFailover, { type: "skipped" }, 200, short);
    expect(d.actions).toEqual([{ type: "alert" }]);
    expect(d.state.phase).toBe("exhausted");
  });

  test("recovery still undoes the scale-out and the failover", () => {
    const d = decide({ ...onFailover, recoveringSince: 0 }, { type: "tick" }, 20_000, short);
    expect(d.actions).toEqual([{ type: "failback" }, { type: "scale_in" }]);
  });
});
