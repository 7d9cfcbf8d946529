// Rolling restarts and manual replica restarts: new before old, caller hooks in order, abort keeps old serving.
import { describe, expect, test } from "bun:test";
import { DRAIN_REPLY_MARGIN_MS } from "../../../src/protocol/balancer.ts";
import { ProcessManager } from "../../../src/procs/process-manager.ts";
import { canConnect } from "../../../src/procs/readiness.ts";
import { isRunning } from "../../../src/procs/proc-stat.ts";
import { waitFor } from "../../support/wait-for.ts";
import { fastSpec, harness, portRange } from "./harness.ts";

describe("rolling restart", () => {
  test("each replica is replaced by a ready one before it is drained and stopped", async () => {
    await using h = harness();
    const port = portRange();
    await h.pm.apply([fastSpec("web", "server", { replicas: 2, port, readiness: { kind: "port", timeoutMs: 5_000 } })]);
    await waitFor(() => h.of("ready").length === 2);
    const steps: string[] = [];
    const result = await h.pm.rollingRestart("web", {
      onReady: async (r) => {
        expect(await canConnect(r.port!)).toBe(true);
        steps.push(`ready ${r.id}`);
      },
      drain: (r) => {
        steps.push(`drain ${r.id}`);
      },
    });
    expect(result).toEqual({ ok: true, replaced: 2 });
    expect(steps).toEqual(["ready 2", "drain 0", "ready 3", "drain 1"]);
    const snap = h.pm.snapshot()[0]!.replicas;
    expect(snap.map((r) => [r.id, r.state])).toEqual([
      [2, "ready"],
      [3, "ready"],
    ]);
    expect(h.of("rolling-restart")[0]).toMatchObject({ status: "done", replaced: 2, reason: "all-replaced" });
  });

  test("a new replica that never becomes ready aborts the roll and the old ones keep serving", async () => {
    await using h = harness();
    const port = portRange();
    const spec = fastSpec("web", "server", { replicas: 2, port, readiness: { kind: "stdout", pattern: "^READY", timeoutMs: 5_000 } });
    await h.pm.apply([spec]);
    await waitFor(() => h.of("ready").length === 2);
    const olds = h.pm.snapshot()[0]!.replicas.map((r) => r.pid!);
    // The new build never prints the ready line.
    await h.pm.apply([{ ...spec, readiness: { kind: "stdout", pattern: "^NEVER", timeoutMs: 200 } }]);
    const result = await h.pm.rollingRestart("web");
    // One comparison of everything, so a failure on a loaded machine shows the whole picture.
    expect({ result, oldsRunning: olds.map(isRunning), events: h.events.map((e) => e.type) }).toMatchObject({
      result: { ok: false, replaced: 0, reason: expect.stringContaining("did not become ready: not ready after 200 ms") },
      oldsRunning: [true, true],
    });
    expect(h.of("rolling-restart")[0]).toMatchObject({ status: "aborted", reason: "replica-not-ready" });
    expect(h.pm.snapshot()[0]!.replicas.map((r) => [r.id, r.state])).toEqual([
      [0, "ready"],
      [1, "ready"],
    ]);
  });

  test("a drain hook that throws is reported and the roll still completes", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("web", "server", { port: portRange(), readiness: { kind: "stdout", pattern: "^READY" } })]);
    await h.waitEvent("ready");
    const result = await h.pm.rollingRestart("web", {
      drain: () => {
        throw new Error("balancer gone");
      },
    });
    expect(result).toEqual({ ok: true, replaced: 1 });
    expect(h.of("error")[0]?.message).toContain("drain hook threw: Error: balancer gone");
  });

  test("restartReplica stops one replica and starts it again in the same slot", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("web", "server", { port: portRange(), readiness: { kind: "stdout", pattern: "^READY" } })]);
    const first = await h.waitEvent("ready");
    await h.pm.restartReplica("web", 0);
    const second = await h.waitEvent("ready", (e) => e.pid !== first.pid);
    expect(second.port).toBe(first.port);
    expect(h.of("stopped")[0]).toMatchObject({ reason: "operator-restart", forced: false });
    expect(h.replica("web", 0)?.restarts).toBe(1);
  });

  test("operations on unknown apps are reported as errors, not thrown", async () => {
    await using h = harness();
    await h.pm.scale("nope", 2);
    await h.pm.restartReplica("nope", 0);
    await h.pm.resetCrashLoop("nope");
    expect(await h.pm.rollingRestart("nope")).toEqual({ ok: false, replaced: 0, reason: "unknown-app" });
    expect(h.of("error").length).toBe(4);
  });
});

describe("hook bounds", () => {
  test("drain and ready hooks are bounded by the app's drain bound (a 5 min drain_timeout), not a fixed cap", async () => {
    const bounds: Array<[string, number]> = [];
    const drained: number[] = [];
    const pm = new ProcessManager(
      { beforeStop: (r) => void drained.push(r.id) },
      { statsIntervalMs: 50, settleHook: (p, ms) => (bounds.push(["hook", ms]), p.then(() => true)) },
    );
    try {
      await pm.apply([fastSpec("slow-drain", "idle", { replicas: 2, drainTimeoutMs: 300_000 })]);
      await waitFor(() => pm.snapshot()[0]?.replicas.filter((r) => r.state === "ready").length === 2, { what: "two ready replicas" });
      const rolled = await pm.rollingRestart("slow-drain", { onReady: () => {}, drain: (r) => void drained.push(r.id) });
      expect(rolled).toEqual({ ok: true, replaced: 2 });
      await pm.scale("slow-drain", 1);
      // Two replicas rolled (ready + drain hook each), then one scaled away (beforeStop): every bound is 300 s + margins.
      const bound = 300_000 + 2 * DRAIN_REPLY_MARGIN_MS;
      expect(bounds).toEqual([["hook", bound], ["hook", bound], ["hook", bound], ["hook", bound], ["hook", bound]]);
      expect(drained).toEqual([0, 1, 3]);
    } finally {
      await pm.stopAll();
    }
  });

  test("the contrast: an app with no balancer drain bound still has a bound (the reply margin)", async () => {
    const bounds: number[] = [];
    const pm = new ProcessManager({ beforeStop: () => {} }, { settleHook: (p, ms) => (bounds.push(ms), p.then(() => true)) });
    try {
      await pm.apply([fastSpec("plain", "idle", { replicas: 1 })]);
      await waitFor(() => pm.snapshot()[0]?.replicas[0]?.state === "ready", { what: "a ready replica" });
      await pm.scale("plain", 0);
      expect(bounds).toEqual([2 * DRAIN_REPLY_MARGIN_MS]);
    } finally {
      await pm.stopAll();
    }
  });
});

describe("replace", () => {
  test("a fresh slot on a new port is ready and routed to before the old replica is drained and stopped", async () => {
    await using h = harness();
    const port = portRange();
    await h.pm.apply([fastSpec("web", "server", { replicas: 2, port, readiness: { kind: "port", timeoutMs: 5_000 } })]);
    await waitFor(() => h.of("ready").length === 2);
    const before = h.pm.snapshot()[0]!.replicas;
    const steps: string[] = [];
    const r = await h.pm.replace("web", 0, {
      onReady: async (x) => {
        expect(await canConnect(x.port!)).toBe(true);
        steps.push(`ready ${x.id}`);
      },
      drain: (x) => void steps.push(`drain ${x.id}`),
    });
    expect(r).toMatchObject({ ok: true, replica: 2 });
    expect(steps).toEqual(["ready 2", "drain 0"]);
    const after = h.pm.snapshot()[0]!.replicas;
    expect(after.map((x) => [x.id, x.state])).toEqual([[1, "ready"], [2, "ready"]]);
    // The other replica is untouched; the fresh one has a port no replica had.
    expect(after[0]!.pid).toBe(before[1]!.pid);
    expect(before.map((x) => x.port)).not.toContain(after[1]!.port);
    expect(isRunning(before[0]!.pid!)).toBe(false);
    expect(h.of("stopped").find((e) => e.id === 0)).toMatchObject({ reason: "replaced" });
  });

  test("contrast: a fresh replica that never becomes ready is stopped and the old one keeps its slot", async () => {
    await using h = harness();
    const spec = fastSpec("web", "server", { port: portRange(), readiness: { kind: "stdout", pattern: "^READY", timeoutMs: 5_000 } });
    await h.pm.apply([spec]);
    const first = await h.waitEvent("ready");
    await h.pm.apply([{ ...spec, readiness: { kind: "stdout", pattern: "^NEVER", timeoutMs: 200 } }]);
    const r = await h.pm.replace("web", 0);
    expect(r).toMatchObject({ ok: false, reason: expect.stringContaining("did not become ready") });
    expect(h.pm.snapshot()[0]!.replicas.map((x) => [x.id, x.pid])).toEqual([[0, first.pid]]);
    expect(isRunning(first.pid)).toBe(true);
  });

  test("an unknown replica is refused with its name", async () => {
    await using h = harness();
    await h.pm.apply([fastSpec("web", "server", { port: portRange(), readiness: { kind: "stdout", pattern: "^READY" } })]);
    expect(await h.pm.replace("web", 7)).toEqual({ ok: false, reason: "no replica web/7" });
  });
});
