// The connection balance between balancer workers: who closes how many connections, from the counts alone.
import { describe, expect, test } from "bun:test";
import { CONN_BALANCE_DEFAULTS, decideShed, INITIAL_CONN_BALANCE, type ConnBalanceState } from "../../../../src/core/balancing/conn-balance.ts";

const at = (active: number, t = 0) => ({ active, at: t });

/** Two looks in a row, the peers reporting in between (what a settled imbalance gives): the second decides. */
function settled(own: number, peers: number[]) {
  const first = decideShed(INITIAL_CONN_BALANCE, own, peers.map((p) => at(p, 0)), 0);
  return decideShed(first.state, own, peers.map((p) => at(p, 50)), 100);
}

describe("connection balance between workers", () => {
  test("a worker alone never sheds, whatever it holds", () => {
    expect(decideShed(INITIAL_CONN_BALANCE, 500, [], 0)).toMatchObject({ shed: 0, fair: 500, reason: "no-peers" });
    expect(settled(500, []).shed).toBe(0);
  });

  test("the fuller of two workers sheds down to the fair share, once a second look agrees; the other sheds nothing", () => {
    const first = decideShed(INITIAL_CONN_BALANCE, 33, [at(17, 0)], 0);
    expect(first).toMatchObject({ shed: 0, reason: "unconfirmed" });
    expect(decideShed(first.state, 33, [at(17, 50)], 100)).toMatchObject({ shed: 8, fair: 25, reason: "above-share" });
    expect(settled(17, [33])).toMatchObject({ shed: 0, fair: 25, reason: "within-share" });
  });

  test("a burst of new connections seen before the peer's report closes nothing", () => {
    // wrk opens 50 connections at once: this worker got 27, the peer's last report (before the burst) said 1.
    const first = decideShed(INITIAL_CONN_BALANCE, 27, [at(1, 0)], 10);
    expect(first.shed).toBe(0);
    // By the next look the peer has reported its 23: within the slack, nothing to do.
    expect(decideShed(first.state, 27, [at(23, 60)], 110)).toMatchObject({ shed: 0, reason: "within-share" });
  });

  test("without a report from every peer since the last look, an excess is not confirmed", () => {
    const first = decideShed(INITIAL_CONN_BALANCE, 40, [at(10, 0), at(10, 0)], 10);
    const stale = decideShed(first.state, 40, [at(10, 5), at(10, 60)], 110);
    expect(stale).toMatchObject({ shed: 0, reason: "unconfirmed" });
    expect(decideShed(stale.state, 40, [at(10, 150), at(10, 160)], 210)).toMatchObject({ shed: 20, reason: "above-share" });
  });

  test("two looks that disagree on the excess shed the smaller one", () => {
    const first = decideShed(INITIAL_CONN_BALANCE, 30, [at(10, 0)], 0); // excess 10
    expect(decideShed(first.state, 40, [at(10, 50)], 100).shed).toBe(10); // excess 15 now: 10 confirmed
  });

  test("a split within the slack is left alone (max of 2 connections and 5% of the share)", () => {
    expect(settled(27, [23]).shed).toBe(0);
    expect(settled(28, [22]).shed).toBe(3);
    // 400 connections: the share is 200, the slack 10.
    expect(settled(210, [190]).shed).toBe(0);
    expect(settled(211, [189]).shed).toBe(11);
  });

  test("few connections are never shed: one worker holding all of 4 is within the slack", () => {
    expect(settled(4, [0]).shed).toBe(0);
    expect(settled(3, [0, 0]).shed).toBe(0);
  });

  test("three workers: the share is a third of the total", () => {
    expect(settled(60, [20, 10])).toMatchObject({ shed: 30, fair: 30, reason: "above-share" });
  });

  test("a report older than staleMs is a worker that is gone: it counts neither in the total nor as a worker", () => {
    const now = 10_000;
    expect(decideShed(INITIAL_CONN_BALANCE, 40, [at(0, now - CONN_BALANCE_DEFAULTS.staleMs - 1)], now).reason).toBe("no-peers");
    const first = decideShed(INITIAL_CONN_BALANCE, 40, [at(0, 0), at(20, now - 50)], now - 100);
    expect(decideShed(first.state, 40, [at(0, 0), at(20, now - 10)], now).shed).toBe(10);
  });

  test("repeated over a split the kernel re-hashes, connections only ever move off the fullest worker", () => {
    // A simulated run: every shed connection reconnects to worker 0 or 1 alternately (a fair coin, deterministic);
    // each tick both workers look, having heard each other's counts since their previous look.
    const counts = [40, 10];
    const states: ConnBalanceState[] = [INITIAL_CONN_BALANCE, INITIAL_CONN_BALANCE];
    let coin = 0;
    for (let tick = 1; tick <= 20; tick++) {
      const now = tick * 100;
      const before = [...counts];
      const d = counts.map((c, i) => decideShed(states[i]!, c, [at(counts[1 - i]!, now - 50)], now));
      d.forEach((x, i) => (states[i] = x.state));
      const shed = d.map((x) => x.shed);
      expect(shed.filter((s) => s > 0).length).toBeLessThanOrEqual(1);
      for (let i = 0; i < 2; i++) {
        counts[i]! -= shed[i]!;
        for (let k = 0; k < shed[i]!; k++) counts[coin++ % 2]!++;
      }
      expect(counts[0]! + counts[1]!).toBe(50);
      if (shed.every((s) => s === 0)) expect(counts).toEqual(before);
    }
    expect(Math.abs(counts[0]! - counts[1]!)).toBeLessThanOrEqual(4);
  });
});
