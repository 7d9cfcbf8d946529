// Operator intent survives an agent crash: a manual scale of an autoscaled app, a stop and maintenance mode are
// restored before reconciling, and the adopted replicas are kept (same pids), never churned.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AppInfo, allReady, alive, demoApp, endpoints, events, freePort } from "../fixtures/it-apps-fixture.ts";
import { startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";

type AppView = AppInfo & { state: string; intent: { replicas?: number; autoscaling: { mode: string; paused_until?: string }; stopped?: { previous: number }; maintenance?: { reason?: string } } };

const killGroup = (pid: number) => {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
};

describe("operator intent across an agent crash", () => {
  test("scaled to 3 (autoscaler paused), stopped and in maintenance; after SIGKILL and restart: still 3 with the same pids, still stopped, still in maintenance", async () => {
    const dataRoot = mkdtempSync(join(tmpdir(), "polis-intent-"));
    // The autoscaler would want 1 replica of an idle app: only the persisted pause keeps 3.
    const demo = demoApp("demo", { min: 1, max: 4 }, { scaling: { metrics: [{ name: "cpu", target: 70 }] } });
    const side = demoApp("side", 1);
    const idle = demoApp("idle", 1);
    const config = (port: number, sidePort: number) => ({
      agent: { data_dir: join(dataRoot, "data"), balancer_workers: 1, scaler_interval: "1s" },
      apps: [demo, side, idle],
      balancers: [
        { name: "web", listen: `127.0.0.1:${port}`, backends: { app: "demo" } },
        { name: "side", listen: `127.0.0.1:${sidePort}`, backends: { app: "side" } },
      ],
    });
    const pids: number[] = [];
    try {
      await using first = await startAgent({ config: config(freePort(), freePort()) });
      await allReady(first, "demo", 1);
      const scaled = (await (await first.api("/v1/apps/demo/scale", { method: "POST", body: JSON.stringify({ replicas: 3 }) })).json()) as { replicas: number; autoscaling: { mode: string } };
      expect(scaled).toMatchObject({ replicas: 3, autoscaling: { mode: "paused" } });
      const before = await allReady(first, "demo", 3);
      pids.push(...before.map((r) => r.pid!));
      expect((await first.api("/v1/apps/idle/stop", { method: "POST" })).status).toBe(202);
      expect((await first.api("/v1/apps/side/maintenance", { method: "PUT", body: JSON.stringify({ enable: true, reason: "disk swap" }) })).status).toBe(200);
      await waitFor(async () => (await endpoints(first, "side")).length === 0 || undefined, { what: "side out of its balancer" });
      first.proc.kill("SIGKILL");
      await first.proc.exited;
      expect(pids.every(alive)).toBe(true);

      await using second = await startAgent({ config: config(freePort(), freePort()) });
      const after = await allReady(second, "demo", 3);
      expect(after.map((r) => r.pid).sort()).toEqual([...pids].sort());
      expect(after.every((r) => r.adopted)).toBe(true);
      // The scaler runs every second: wait for a decision it was not allowed to carry out, then look again.
      const held = await waitFor(async () => (await events(second)).find((e) => e.type === "scale.decision" && e.target === "demo" && e.data?.held), { timeoutMs: 20_000, what: "a held scale decision" });
      expect(String(held.message)).toContain("paused");
      const view = (await (await second.api("/v1/apps/demo")).json()) as AppView;
      expect(view.replicas.map((r) => r.pid).sort()).toEqual([...pids].sort());
      expect(view.intent).toMatchObject({ replicas: 3, autoscaling: { mode: "paused" } });
      const evs = await events(second);
      expect(evs.filter((e) => e.type === "proc.stopped" && e.target.startsWith("demo-"))).toEqual([]);
      expect(evs.filter((e) => e.type === "proc.spawned" && e.target.startsWith("demo-"))).toEqual([]);

      const idleView = (await (await second.api("/v1/apps/idle")).json()) as AppView;
      expect(idleView).toMatchObject({ state: "stopped", desired: 0, replicas: [] });
      expect(idleView.intent.stopped?.previous).toBe(1);
      const sideView = (await (await second.api("/v1/apps/side")).json()) as AppView;
      expect(sideView.state).toBe("maintenance");
      expect(sideView.intent.maintenance?.reason).toBe("disk swap");
      expect(await endpoints(second, "side")).toEqual([]);

      // Start brings the stopped app back without a config edit.
      const started = (await (await second.api("/v1/apps/idle/start", { method: "POST" })).json()) as { replicas: number };
      expect(started.replicas).toBe(1);
      const idleBack = await waitFor(async () => {
        const v = (await (await second.api("/v1/apps/idle")).json()) as AppView;
        return v.replicas.length === 1 && v.replicas[0]!.state === "ready" ? v.replicas[0]! : undefined;
      }, { timeoutMs: 30_000, what: "idle started again" });
      pids.push(idleBack.pid!);
    } finally {
      pids.forEach(killGroup);
      rmSync(dataRoot, { recursive: true, force: true });
    }
  }, 120_000);
});
