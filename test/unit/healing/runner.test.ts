// The self-healing runner on a fake clock with recording effects: the ladder driven by verdicts, each decision in the
// store before its action runs, the ladder following a replaced replica, skipped rungs, recovery undoing the rest.
import { describe, expect, test } from "bun:test";
import { Schema } from "effect";
import { Config } from "../../../src/config/schema.ts";
import { createHealingRunner, type HealingEffects, type HealingTarget } from "../../../src/healing/runner.ts";
import { openHealingStore } from "../../../src/state/healing-store.ts";
import { openStore } from "../../../src/state/store.ts";
import type { EventInput } from "../../../src/state/event-bus.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {}, log() {}, child() { return silent; } } as never;

function rig(opts: { backups?: boolean; scalable?: boolean } = {}) {
  const healing = Schema.decodeUnknownSync(Config)({
    healing: {
      unhealthy_for: "2s",
      recover_after: "5s",
      rungs: [
        { rung: "restart", attempts: 1, backoff: "1s" },
        { rung: "replace", attempts: 1, backoff: "1s" },
        { rung: "scale_out", attempts: 1, backoff: "1s" },
        { rung: "failover", attempts: 1, backoff: "1s" },
      ],
    },
  }).healing;
  let t = 1_000_000;
  const db = openStore(":memory:");
  const store = openHealingStore(db);
  const calls: string[] = [];
  const events: EventInput[] = [];
  let targets: HealingTarget[] = [{ app: "web", replica: 0, state: "ready", health: "passing", ejected: false }];
  let replicas = 1;
  const pendingAtCall: string[] = [];
  const effects: HealingEffects = {
    restart: async (app, r) => {
      // The decision is in the store before the action runs.
      pendingAtCall.push(store.all().flatMap((x) => x.history).filter((s) => s.outcome === "pending").map((s) => s.action).join(","));
      calls.push(`restart ${app}-${r}`);
      return { outcome: "done", detail: "restarted" };
    },
    replace: async (app, r) => {
      calls.push(`replace ${app}-${r}`);
      targets = targets.map((x) => (x.replica === r ? { ...x, replica: r + 1 } : x));
      return { replica: r + 1, detail: `replaced by ${app}-${r + 1}` };
    },
    scaleOut: async (app) => {
      calls.push(`scale_out ${app}`);
      if (!opts.scalable) return { outcome: "skipped", detail: "at its maximum" };
      replicas++;
      return { outcome: "done", from: replicas - 1, detail: "1 -> 2" };
    },
    scaleIn: async (app, from) => {
      calls.push(`scale_in ${app} to ${from}`);
      replicas = from;
      return "2 -> 1";
    },
    failover: (app) => {
      calls.push(`failover ${app}`);
      return opts.backups === false ? { outcome: "skipped", detail: "no backup" } : { outcome: "done", detail: "lb on backup", balancers: ["lb"] };
    },
    failback: (b) => void calls.push(`failback ${b.join(",")}`),
    alert: (x) => {
      calls.push(`alert ${x.target}`);
      return "a1";
    },
    resolveAlert: (id) => void calls.push(`resolve ${id}`),
  };
  const runner = createHealingRunner({ config: () => healing, targets: async () => targets, effects, store, publish: (e) => void events.push(e), log: silent, now: () => t });
  return {
    runner, store, calls, events, pendingAtCall,
    set(h: Partial<HealingTarget>) {
      targets = targets.map((x) => ({ ...x, ...h }));
    },
    async at(ms: number) {
      t = 1_000_000 + ms;
      await runner.tick();
      // Actions run beside the schedule: let them finish.
      for (let i = 0; i < 20; i++) await Promise.resolve();
      await Bun.sleep(0);
    },
  };
}

describe("healing runner", () => {
  test("a replica that stays critical is restarted, replaced, scaled out, failed over, then alerted, in that order", async () => {
    const r = rig({ scalable: true });
    await r.at(0);
    r.set({ health: "critical" });
    await r.at(1000);
    expect(r.calls).toEqual([]); // unhealthy for 0 s: not yet
    await r.at(3000);
    expect(r.calls).toEqual(["restart web-0"]);
    expect(r.pendingAtCall).toEqual(["restart"]);
    for (const ms of [4000, 5000, 6000, 7000, 8000, 9000]) await r.at(ms);
    expect(r.calls).toEqual(["restart web-0", "replace web-0", "scale_out web", "failover web", "alert web-1"]);
    const v = r.runner.views();
    expect(v.map((x) => [x.target, x.phase, x.failedOver, x.scaledOut, x.alert])).toEqual([["web-1", "exhausted", ["lb"], true, "a1"]]);
    expect(r.runner.failedOver("lb")).toBe(true);
    expect(r.events.map((e) => e.type)).toEqual(["healing.started", "healing.action", "healing.action", "healing.action", "healing.action", "healing.exhausted"]);
    // Persisted under the replica it follows now.
    expect(r.store.all().map((x) => [x.target, x.state.phase])).toEqual([["web-1", "exhausted"]]);
  });

  test("recovery held for recover_after fails back, scales in and resolves the alert; contrast: a shorter healthy spell does not", async () => {
    const r = rig({ scalable: true });
    r.set({ health: "critical" });
    for (const ms of [0, 2000, 3000, 4000, 5000, 6000, 7000]) await r.at(ms);
    expect(r.calls.at(-1)).toBe("alert web-1");
    r.set({ health: "passing" });
    await r.at(8000);
    await r.at(11_000);
    r.set({ health: "critical" });
    await r.at(12_000); // relapsed before 5 s of health
    expect(r.calls.filter((c) => c.startsWith("failback"))).toEqual([]);
    r.set({ health: "passing" });
    await r.at(13_000);
    await r.at(18_000);
    expect(r.calls.slice(-3)).toEqual(["failback lb", "scale_in web to 1", "resolve a1"]);
    expect(r.runner.failedOver("lb")).toBe(false);
    const v = r.runner.views()[0]!;
    expect(v.phase).toBe("healthy");
    expect(v.history.at(-1)).toMatchObject({ action: "recovered", outcome: "done" });
    expect(r.events.at(-1)?.type).toBe("healing.recovered");
  });

  test("rungs that do not apply are skipped with their reason and the next is taken at once", async () => {
    const r = rig({ scalable: false, backups: false });
    r.set({ health: "critical" });
    for (const ms of [0, 2000, 3000, 4000]) await r.at(ms);
    // scale_out skipped -> failover skipped -> alert, all in one evaluation.
    expect(r.calls).toEqual(["restart web-0", "replace web-0", "scale_out web", "failover web", "alert web-1"]);
    const h = r.runner.views()[0]!.history;
    expect(h.filter((s) => s.outcome === "skipped").map((s) => [s.action, s.detail])).toEqual([["scale_out", "at its maximum"], ["failover", "no backup"]]);
  });

  test("a flap shorter than unhealthy_for starts nothing and leaves no ladder", async () => {
    const r = rig();
    r.set({ health: "critical" });
    await r.at(0);
    await r.at(1000);
    r.set({ health: "passing" });
    await r.at(1500);
    expect(r.calls).toEqual([]);
    expect(r.runner.views()).toEqual([]);
  });

  test("a restarted runner resumes the ladder from the store on the same rung", async () => {
    const r = rig();
    r.set({ health: "critical" });
    for (const ms of [0, 2000]) await r.at(ms);
    expect(r.calls).toEqual(["restart web-0"]);
    const again = createHealingRunner({ config: () => ({ ...Schema.decodeUnknownSync(Config)({}).healing }), targets: async () => [], effects: {} as HealingEffects, store: r.store, publish: () => {}, log: silent });
    expect(again.views().map((v) => [v.target, v.phase, v.rung])).toEqual([["web-0", "climbing", "restart"]]);
  });
});
