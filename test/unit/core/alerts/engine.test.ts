import { describe, expect, test } from "bun:test";
import { createEngineState, decide, Reason } from "../../../../src/core/alerts/engine.ts";
import { fingerprintOf } from "../../../../src/core/alerts/fingerprint.ts";
import { parseMatcher } from "../../../../src/core/alerts/matchers.ts";
import { webhookPayload } from "../../../../src/core/alerts/payload.ts";
import type { AlertInput, AlertRules, Notification, Route } from "../../../../src/core/alerts/types.ts";

const route = (over: Partial<Route> = {}): Route => ({ receiver: "ops", matchers: [], groupBy: ["alertname"], groupWaitMs: 1000, groupIntervalMs: 5000, repeatIntervalMs: 60_000, sendResolved: true, ...over });
const rules = (over: Partial<AlertRules> = {}): AlertRules => ({ routes: [route()], inhibit: [], keepResolved: 100, ...over });
const input = (labels: Record<string, string>, over: Partial<AlertInput> = {}): AlertInput => ({ name: "CheckCritical", severity: "critical", labels, annotations: { summary: "down" }, source: "api", ...over });
const notes = (d: { actions: ReadonlyArray<{ kind: string }> }) => d.actions.filter((a): a is { kind: "notify"; notification: Notification } => a.kind === "notify").map((a) => a.notification);
const events = (d: { actions: ReadonlyArray<{ kind: string }> }) => d.actions.flatMap((a) => (a.kind === "event" ? [(a as unknown as { type: string }).type] : []));

describe("alert engine", () => {
  test("the fingerprint ignores label order and differs when a value differs", () => {
    expect(fingerprintOf({ a: "1", b: "2" })).toBe(fingerprintOf({ b: "2", a: "1" }));
    expect(fingerprintOf({ a: "1", b: "2" })).not.toBe(fingerprintOf({ a: "1", b: "3" }));
    expect(fingerprintOf({ a: "1,b=2" })).not.toBe(fingerprintOf({ a: "1", b: "2" }));
  });

  test("a repeat of the same labels increments the count instead of creating an alert", () => {
    const s = createEngineState(rules());
    const a = decide(s, { type: "raise", input: input({ check: "db" }) }, 0);
    expect(a.reason).toBe(Reason.RAISED);
    const b = decide(s, { type: "raise", input: input({ check: "db" }, { value: 7 }) }, 10);
    expect(b.reason).toBe(Reason.REPEATED);
    expect(b.alert!.id).toBe(a.alert!.id);
    expect(b.alert!.occurrences).toBe(2);
    expect(b.alert!.lastValue).toBe(7);
    expect(s.active.size).toBe(1);
    expect(decide(s, { type: "raise", input: input({ check: "web" }) }, 20).alert!.id).not.toBe(a.alert!.id);
  });

  test("firing -> acknowledged -> resolved, with who and when; a second ack or resolve changes nothing", () => {
    const s = createEngineState(rules());
    const { alert } = decide(s, { type: "raise", input: input({ check: "db" }) }, 0);
    const ack = decide(s, { type: "acknowledge", id: alert!.id, by: "ana", comment: "on it" }, 5);
    expect(ack.alert).toMatchObject({ lifecycle: "acknowledged", acknowledgedBy: "ana", acknowledgedAt: 5, ackComment: "on it" });
    expect(decide(s, { type: "acknowledge", id: alert!.id, by: "bo" }, 6).reason).toBe(Reason.ALREADY_ACKNOWLEDGED);
    const res = decide(s, { type: "resolve", id: alert!.id, by: "ana" }, 9);
    expect(res.alert).toMatchObject({ lifecycle: "resolved", resolvedAt: 9, resolvedBy: "ana" });
    expect(decide(s, { type: "resolve", id: alert!.id, by: "ana" }, 10).reason).toBe(Reason.ALREADY_RESOLVED);
    expect(decide(s, { type: "acknowledge", id: "999", by: "ana" }, 10).reason).toBe(Reason.NOT_FOUND);
  });

  test("observe resolves what a source no longer reports, and only that source's alerts", () => {
    const s = createEngineState(rules());
    decide(s, { type: "raise", input: input({ x: "api" }) }, 0);
    decide(s, { type: "observe", source: "disk", inputs: [input({ mount: "/" }), input({ mount: "/var" })] }, 0);
    expect(s.active.size).toBe(3);
    const d = decide(s, { type: "observe", source: "disk", inputs: [input({ mount: "/var" })] }, 1000);
    expect(events(d)).toEqual(["alert.resolved"]);
    expect([...s.active.values()].map((a) => a.labels.mount ?? a.labels.x).sort()).toEqual(["/var", "api"]);
    // A continuing condition is not a repeat.
    expect([...s.active.values()].every((a) => a.occurrences === 1)).toBe(true);
  });

  test("changes raise what a source now sees and resolve only what it cleared, leaving the rest as it was", () => {
    const s = createEngineState(rules());
    decide(s, { type: "raise", input: input({ check: "a" }) }, 0);
    decide(s, { type: "observe", source: "disk", inputs: [input({ mount: "/" }), input({ mount: "/var" })] }, 0);
    const d = decide(s, { type: "changes", source: "disk", firing: [input({ mount: "/tmp" })], cleared: [input({ mount: "/" })] }, 1000);
    expect(events(d).sort()).toEqual(["alert.firing", "alert.resolved"]);
    expect([...s.active.values()].map((a) => a.labels.mount ?? a.labels.check).sort()).toEqual(["/tmp", "/var", "a"]);
    // Another source's alert is not resolved by this one's clear, and an empty change set changes nothing.
    expect(events(decide(s, { type: "changes", source: "disk", firing: [], cleared: [input({ check: "a" })] }, 2000))).toEqual([]);
    expect(s.active.size).toBe(3);
    // A cleared input replaced by one with the same labels (reported in one change set): the old alert resolves and
    // a new one starts, whichever order the source listed them in.
    const before = [...s.active.values()].find((a) => a.labels.mount === "/var")!;
    decide(s, { type: "changes", source: "disk", firing: [input({ mount: "/var" })], cleared: [input({ mount: "/var" })] }, 3000);
    const after = [...s.active.values()].find((a) => a.labels.mount === "/var")!;
    expect(before.lifecycle).toBe("resolved");
    expect(after.id).not.toBe(before.id);
    // A later full observe still resolves what the source leaves out.
    decide(s, { type: "observe", source: "disk", inputs: [input({ mount: "/tmp" })] }, 4000);
    expect([...s.bySource.get("disk")!].length).toBe(1);
  });

  test("a target's inhibition follows its source through changes", () => {
    const s = createEngineState(rules({ inhibit: [{ source: [parseMatcher("severity=critical")], target: [parseMatcher("severity=warning")], equal: ["app"] }] }));
    const warn = decide(s, { type: "raise", input: input({ check: "w", app: "x" }, { severity: "warning" }) }, 0).alert!;
    decide(s, { type: "changes", source: "checks", firing: [input({ check: "c", app: "x" })], cleared: [] }, 1000);
    expect(warn.inhibitedBy).toHaveLength(1);
    decide(s, { type: "changes", source: "checks", firing: [], cleared: [input({ check: "c", app: "x" })] }, 2000);
    expect(warn.inhibitedBy).toEqual([]);
  });

  test("group_wait batches alerts of one group; group_interval sends what changed; resolved is told once", () => {
    const s = createEngineState(rules());
    decide(s, { type: "raise", input: input({ check: "a" }) }, 0);
    decide(s, { type: "raise", input: input({ check: "b" }) }, 500);
    expect(notes(decide(s, { type: "tick" }, 999))).toEqual([]);
    const first = notes(decide(s, { type: "tick" }, 1000));
    expect(first).toHaveLength(1);
    expect(first[0]!.alerts.map((a) => a.labels.check)).toEqual(["a", "b"]);
    expect(first[0]!.groupLabels).toEqual({ alertname: "CheckCritical" });
    // Nothing changed: nothing sent at the next interval.
    expect(notes(decide(s, { type: "tick" }, 6000))).toEqual([]);
    const a = [...s.active.values()].find((x) => x.labels.check === "a")!;
    decide(s, { type: "resolve", id: a.id, by: "ana" }, 7000);
    expect(notes(decide(s, { type: "tick" }, 8000))).toEqual([]);
    const second = notes(decide(s, { type: "tick" }, 11_000));
    expect(second[0]!.alerts.map((x) => `${x.labels.check}:${x.lifecycle}`)).toEqual(["b:firing", "a:resolved"]);
    expect(notes(decide(s, { type: "tick" }, 16_000))).toEqual([]);
  });

  test("repeat_interval re-sends a group still firing, but not one whose alerts are all acknowledged", () => {
    const s = createEngineState(rules());
    const { alert } = decide(s, { type: "raise", input: input({ check: "a" }) }, 0);
    expect(notes(decide(s, { type: "tick" }, 1000))).toHaveLength(1);
    let t = 1000;
    const sent: number[] = [];
    while (t < 130_000) {
      t += 5000;
      if (notes(decide(s, { type: "tick" }, t)).length > 0) sent.push(t);
    }
    expect(sent).toEqual([61_000, 121_000]);
    decide(s, { type: "acknowledge", id: alert!.id, by: "ana" }, t);
    expect(notes(decide(s, { type: "tick" }, t + 120_000))).toEqual([]);
  });

  test("a matching silence shows the alert as silenced and keeps it out of notifications until it ends", () => {
    const s = createEngineState(rules());
    decide(s, { type: "silence", silence: { id: "s1", matchers: [parseMatcher("check=~db|cache")], startsAt: 0, endsAt: 10_000, createdBy: "ana", comment: "maintenance", createdAt: 0 } }, 0);
    const { alert } = decide(s, { type: "raise", input: input({ check: "db" }) }, 100);
    expect(alert!.silencedBy).toEqual(["s1"]);
    expect(notes(decide(s, { type: "tick" }, 5000))).toEqual([]);
    const end = decide(s, { type: "tick" }, 10_000);
    expect(events(end)).toContain("alert.unsilenced");
    expect(alert!.silencedBy).toEqual([]);
    expect(notes(decide(s, { type: "tick" }, 11_000))).toHaveLength(1);
  });

  test("a firing critical inhibits a warning with the same labels named in equal, not one with different ones", () => {
    const s = createEngineState(rules({ inhibit: [{ source: [parseMatcher("severity=critical")], target: [parseMatcher("severity=warning")], equal: ["app"] }] }));
    const crit = decide(s, { type: "raise", input: input({ app: "web" }, { name: "CrashLoop" }) }, 0).alert!;
    const warnSame = decide(s, { type: "raise", input: input({ app: "web" }, { name: "MaxReplicas", severity: "warning" }) }, 0).alert!;
    const warnOther = decide(s, { type: "raise", input: input({ app: "api" }, { name: "MaxReplicas", severity: "warning" }) }, 0).alert!;
    expect(warnSame.inhibitedBy).toEqual([crit.fingerprint]);
    expect(warnOther.inhibitedBy).toEqual([]);
    decide(s, { type: "resolve", id: crit.id, by: "ana" }, 10);
    expect(warnSame.inhibitedBy).toEqual([]);
  });

  test("API alerts with endsAt resolve themselves when not raised again", () => {
    const s = createEngineState(rules());
    decide(s, { type: "raise", input: input({ job: "backup" }, { endsAt: 5000 }) }, 0);
    expect(events(decide(s, { type: "tick" }, 4999))).toEqual([]);
    expect(events(decide(s, { type: "tick" }, 5000))).toContain("alert.resolved");
  });

  test("only the newest keepResolved resolved alerts are kept", () => {
    const s = createEngineState(rules({ keepResolved: 2 }));
    const forgotten: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { alert } = decide(s, { type: "raise", input: input({ n: String(i) }) }, i);
      for (const a of decide(s, { type: "resolve", id: alert!.id, by: "x" }, i).actions) if (a.kind === "forget-alert") forgotten.push(a.id);
    }
    expect(forgotten).toEqual(["1", "2"]);
    expect([...s.byId.keys()]).toEqual(["3", "4"]);
  });

  test("a state restored from the store does not notify its active alerts again", () => {
    const s1 = createEngineState(rules());
    decide(s1, { type: "raise", input: input({ check: "a" }) }, 0);
    decide(s1, { type: "tick" }, 1000);
    const s2 = createEngineState(rules(), [...s1.byId.values()], [], 2000);
    expect(s2.nextId).toBe(2);
    expect(notes(decide(s2, { type: "tick" }, 8000))).toEqual([]);
    decide(s2, { type: "raise", input: input({ check: "b" }) }, 8000);
    expect(notes(decide(s2, { type: "tick" }, 13_000))[0]!.alerts).toHaveLength(2);
  });

  test("the webhook body has Alertmanager's version 4 shape", () => {
    const s = createEngineState(rules());
    decide(s, { type: "raise", input: input({ check: "a", app: "web" }) }, Date.UTC(2026, 0, 1));
    const [n] = notes(decide(s, { type: "tick" }, Date.UTC(2026, 0, 1) + 1000));
    const p = webhookPayload(n!, "http://127.0.0.1:9090");
    expect(p).toMatchObject({ version: "4", status: "firing", receiver: "ops", groupLabels: { alertname: "CheckCritical" }, truncatedAlerts: 0, externalURL: "http://127.0.0.1:9090" });
    expect(p.commonLabels).toEqual({ alertname: "CheckCritical", severity: "critical", check: "a", app: "web" });
    expect(p.alerts[0]).toMatchObject({ status: "firing", startsAt: "2026-01-01T00:00:00.000Z", endsAt: "0001-01-01T00:00:00Z", generatorURL: "http://127.0.0.1:9090/v1/alerts/1" });
  });

  test("matchers: bad text names the problem", () => {
    expect(() => parseMatcher("foo")).toThrow(/not a matcher/);
    expect(() => parseMatcher("a=~(")).toThrow(/invalid regular expression/);
    expect(parseMatcher('a="b c"')).toEqual({ name: "a", op: "=", value: "b c" });
  });
});
