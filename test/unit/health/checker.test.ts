import { describe, expect, test } from "bun:test";
import type { Status } from "../../../src/core/health/status.ts";
import type { CheckSpec } from "../../../src/health/check-spec.ts";
import { createChecker, type CheckerOptions, type CheckSummary } from "../../../src/health/checker.ts";
import type { Probe, ProbeResult } from "../../../src/health/probe.ts";
import { createFakeClock } from "../../support/fake-clock.ts";
import { waitFor } from "../../support/wait-for.ts";

type Event = { id: string; from: Status | null; to: Status; flapping: boolean; output: string };

/** A checker whose probes are scripted per check id: each run takes the next status of its script. */
function scripted(scripts: Record<string, (Status | "hang" | "throw")[]>, extra: Partial<CheckerOptions> = {}) {
  const clock = createFakeClock(0);
  const events: Event[] = [];
  const calls: Record<string, number> = {};
  const probeFor = (id: string): Probe =>
    function scriptedProbe(_target, signal) {
      const step = scripts[id][Math.min(calls[id] ?? 0, scripts[id].length - 1)];
      calls[id] = (calls[id] ?? 0) + 1;
      if (step === "hang") return new Promise<ProbeResult>(() => {}); // ignores its signal on purpose
      if (step === "throw") return Promise.reject(new Error("probe blew up"));
      return Promise.resolve({ status: step, output: `${id} ${step} ${signal.aborted}`, latencyMs: 1 });
    };
  const checker = createChecker({
    clock,
    summaryIntervalMs: 0,
    buildProbe: (spec) => ({ probe: probeFor(spec.id) }),
    onTransition: (id, from, to, r, flapping) => events.push({ id, from, to, flapping, output: r.output }),
    ...extra,
  });
  return { clock, checker, events, calls };
}

const spec = (id: string, extra: Partial<CheckSpec> = {}): CheckSpec => ({ id, kind: "tcp", target: "127.0.0.1:1", intervalMs: 1000, timeoutMs: 100, ...extra });

/** Moves the fake clock to the next due time, runs what is due and waits for the runs to finish. */
async function step(h: ReturnType<typeof scripted>, ms = 1000) {
  h.clock.advance(ms);
  h.checker.tick();
  await h.checker.idle();
}

describe("checker", () => {
  test("the first result is reported at once, then only transitions", async () => {
    const h = scripted({ a: ["passing", "passing", "critical", "critical", "passing"] });
    expect(h.checker.add(spec("a"))).toEqual({ ok: true });
    for (let i = 0; i < 5; i++) await step(h);
    expect(h.events.map((e) => [e.from, e.to])).toEqual([
      [null, "passing"],
      ["passing", "critical"],
      ["critical", "passing"],
    ]);
    expect(h.calls.a).toBe(5);
  });

  test("thresholds from the spec apply before a transition is emitted", async () => {
    const h = scripted({ a: ["passing", "critical", "critical", "critical"] });
    h.checker.add(spec("a", { thresholds: { failuresBeforeCritical: 3 } }));
    for (let i = 0; i < 4; i++) await step(h);
    expect(h.events.map((e) => e.to)).toEqual(["passing", "critical"]);
  });

  test("a hanging probe times out as critical and never delays the other checks", async () => {
    const h = scripted({ slow: ["hang"], fast: ["passing"] });
    h.checker.add(spec("slow", { timeoutMs: 50 }));
    h.checker.add(spec("fast"));
    h.clock.advance(1000);
    expect(h.checker.tick()).toBe(2);
    await waitFor(() => h.events.some((e) => e.id === "fast"), { what: "fast result" });
    expect(h.events.some((e) => e.id === "slow")).toBe(false);
    await h.checker.idle();
    const slow = h.events.find((e) => e.id === "slow")!;
    expect(slow.to).toBe("critical");
    expect(slow.output).toContain("timed out after 50 ms");
  });

  test("runs with different timeouts each time out with their own, and a passing run is not timed out later", async () => {
    const h = scripted({ short: ["hang"], long: ["hang"], ok: ["passing"] });
    h.checker.add(spec("short", { timeoutMs: 30 }));
    h.checker.add(spec("long", { timeoutMs: 120 }));
    h.checker.add(spec("ok", { timeoutMs: 30 }));
    h.clock.advance(1000);
    expect(h.checker.tick()).toBe(3);
    await waitFor(() => h.events.some((e) => e.id === "short"), { what: "short timeout" });
    expect(h.events.some((e) => e.id === "long")).toBe(false);
    await h.checker.idle();
    const byId = Object.fromEntries(h.events.map((e) => [e.id, e]));
    expect(byId.short).toMatchObject({ to: "critical", output: "timed out after 30 ms" });
    expect(byId.long).toMatchObject({ to: "critical", output: "timed out after 120 ms" });
    expect(byId.ok).toMatchObject({ to: "passing" });
    expect(h.events).toHaveLength(3);
  });

  test("a probe that throws synchronously becomes a critical result and the check runs again", async () => {
    let calls = 0;
    const clock = createFakeClock(0);
    const events: string[] = [];
    const checker = createChecker({
      clock,
      summaryIntervalMs: 0,
      buildProbe: () => ({
        probe: () => {
          calls++;
          throw new Error("sync bug");
        },
      }),
      onTransition: (_id, _from, to, r) => events.push(`${to}: ${r.output}`),
    });
    checker.add(spec("a"));
    for (let i = 0; i < 2; i++) {
      clock.advance(1000);
      checker.tick();
      await checker.idle();
    }
    expect(events).toEqual(["critical: probe failed: sync bug"]);
    expect(calls).toBe(2);
  });

  test("a check is never run twice at once", async () => {
    const h = scripted({ a: ["hang"] });
    h.checker.add(spec("a", { timeoutMs: 200 }));
    h.clock.advance(1000);
    expect(h.checker.tick()).toBe(1);
    h.clock.advance(5000);
    expect(h.checker.tick()).toBe(0);
    await h.checker.idle();
    expect(h.calls.a).toBe(1);
  });

  test("a probe that throws becomes a critical result, not an exception", async () => {
    const h = scripted({ a: ["throw"] });
    h.checker.add(spec("a"));
    await step(h);
    expect(h.events[0]).toMatchObject({ to: "critical", output: "probe failed: probe blew up" });
  });

  test("a listener that throws is logged and the checker keeps going", async () => {
    const logs: string[] = [];
    const h = scripted({ a: ["passing", "critical"] }, { onTransition: () => { throw new Error("listener bug"); }, log: (m) => logs.push(m) });
    h.checker.add(spec("a"));
    await step(h);
    await step(h);
    expect(logs).toHaveLength(2);
    expect(h.calls.a).toBe(2);
  });

  test("an unhealthy check is re-run at its unhealthy interval", async () => {
    const h = scripted({ a: ["critical"] });
    h.checker.add(spec("a", { unhealthyIntervalMs: 3000 }));
    await step(h); // first run somewhere in the first interval (stagger)
    await step(h);
    expect(h.calls.a).toBe(1);
    await step(h, 2000);
    expect(h.calls.a).toBe(2);
  });

  test("removed checks stop running and a run in flight is dropped", async () => {
    const h = scripted({ a: ["hang"], b: ["passing"] });
    h.checker.add(spec("a", { timeoutMs: 500 }));
    h.checker.add(spec("b"));
    h.clock.advance(1000);
    h.checker.tick();
    expect(h.checker.remove("a")).toBe(true);
    expect(h.checker.remove("a")).toBe(false);
    await h.checker.idle();
    await step(h);
    expect(h.events.map((e) => e.id)).toEqual(["b"]);
    expect(h.calls.a).toBe(1);
  });

  test("updating the interval keeps the check's state; changing its target resets it", async () => {
    const h = scripted({ a: ["passing"] });
    h.checker.add(spec("a"));
    await step(h);
    expect(h.checker.update(spec("a", { intervalMs: 2000 }))).toEqual({ ok: true });
    await step(h, 2000);
    expect(h.events).toHaveLength(1); // still passing: no new transition
    h.checker.update(spec("a", { target: "127.0.0.1:2" }));
    await step(h, 2000);
    expect(h.events.map((e) => e.from)).toEqual([null, null]);
  });

  test("updating a check while it runs aborts that run and drops its result", async () => {
    const h = scripted({ a: ["hang", "passing"] });
    h.checker.add(spec("a", { timeoutMs: 800 }));
    h.clock.advance(1000);
    expect(h.checker.tick()).toBe(1);
    h.checker.update(spec("a", { timeoutMs: 800, intervalMs: 2000 }));
    await h.checker.idle();
    expect(h.events).toEqual([]);
    await step(h, 2000);
    expect(h.calls.a).toBe(2);
    expect(h.events.map((e) => e.to)).toEqual(["passing"]);
  });

  test("flapping is announced once, damped, and the settled state reported at the end", async () => {
    const script: Status[] = [...Array.from({ length: 30 }, (_, i): Status => (i % 2 ? "critical" : "passing")), ...Array(25).fill("critical")];
    const h = scripted({ a: script });
    h.checker.add(spec("a"));
    for (let i = 0; i < script.length; i++) await step(h);
    const flapStart = h.events.findIndex((e) => e.flapping);
    expect(flapStart).toBeGreaterThan(0);
    const after = h.events.slice(flapStart + 1);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ to: "critical", flapping: false });
    expect(h.checker.status("a")?.flapping).toBe(false);
  });

  test("periodic summaries carry uptime and latency of every check", async () => {
    const batches: CheckSummary[][] = [];
    const h = scripted({ a: ["passing"], b: ["critical"] }, { summaryIntervalMs: 5000, onSummary: (s) => batches.push(s) });
    h.checker.add(spec("a"));
    h.checker.add(spec("b"));
    for (let i = 0; i < 5; i++) await step(h);
    expect(batches).toHaveLength(1);
    const byId = Object.fromEntries(batches[0].map((s) => [s.checkId, s]));
    expect(byId.a.summary.uptimePercent).toBe(100);
    expect(byId.b.summary.uptimePercent).toBe(0);
    expect(byId.a.summary.meanLatencyMs).toBe(1);
  });

  test("stop aborts runs in flight and is idempotent; stop without start is fine", async () => {
    const h = scripted({ a: ["hang", "passing"] });
    h.checker.stop();
    h.checker.add(spec("a", { timeoutMs: 900 }));
    h.clock.advance(1000);
    h.checker.tick();
    h.checker.stop();
    h.checker.stop();
    await h.checker.idle();
    expect(h.events).toEqual([]);
    await step(h); // the check is due again after a stop
    expect(h.calls.a).toBe(2);
  });
});

describe("checker TTL checks", () => {
  test("a push is applied at once, and expiry is seen on the next run", async () => {
    const clock = createFakeClock(0);
    const events: [Status | null, Status][] = [];
    const checker = createChecker({ clock, summaryIntervalMs: 0, onTransition: (_id, from, to) => events.push([from, to]) });
    expect(checker.add({ id: "t", kind: "ttl", target: "", intervalMs: 1000, timeoutMs: 500, options: { ttlMs: 5000 } })).toEqual({ ok: true });
    expect(checker.pushTtl("t", "pass", "fine")).toEqual({ ok: true });
    expect(events).toEqual([[null, "passing"]]);
    clock.advance(6000);
    checker.tick();
    await checker.idle();
    expect(events).toEqual([[null, "passing"], ["passing", "critical"]]);
    expect(checker.status("t")!.phi).toBeGreaterThan(8);
  });

  test("pushes to unknown or non-TTL checks and bad statuses are refused with a field", () => {
    const checker = createChecker({ clock: createFakeClock(0), summaryIntervalMs: 0 });
    checker.add({ id: "x", kind: "tcp", target: "127.0.0.1:1", intervalMs: 1000, timeoutMs: 500 });
    checker.add({ id: "t", kind: "ttl", target: "", intervalMs: 1000, timeoutMs: 500, options: { ttlMs: 5000 } });
    expect(checker.pushTtl("nope", "pass")).toMatchObject({ ok: false, errors: [{ field: "id" }] });
    expect(checker.pushTtl("x", "pass")).toMatchObject({ ok: false, errors: [{ field: "kind" }] });
    expect(checker.pushTtl("t", "great" as "pass")).toMatchObject({ ok: false, errors: [{ field: "status" }] });
  });
});
