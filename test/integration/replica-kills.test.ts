// A replica killed every second for 30 s under load: each kill is restarted in its slot, no slot and not the app
// reaches crash-loop (a stable run killed from outside is not a crash), and no GET through the balancer fails.
// The one long integration test of the suite (about 35 s); longer runs belong to `npm run chaos`.
import { describe, expect, test } from "bun:test";
import { allReady, demoApp, events, load, replicas, startStack } from "../fixtures/it-apps-fixture.ts";
import { waitFor } from "../support/wait-for.ts";

const KILL_EVERY_MS = 1_000;
const KILLS = 30;

describe("replica kills under load", () => {
  test("30 SIGKILLs at 1/s across 3 replicas: every one restarted, no crash-loop, 0 failed GETs", async () => {
    // The configured budget is the default one (10 in 60 s): each slot is killed about 10 times in 30 s.
    const { agent, port } = await startStack([demoApp("demo", 3)]);
    await using _ = agent;
    await allReady(agent, "demo", 3);
    const traffic = load(port, 8, 90_000);
    const killed: number[] = [];
    try {
      await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
      for (let k = 0; k < KILLS; k++) {
        // The pace of the fault is the scenario itself; a kill waits for two ready replicas so one always serves.
        const tick = Bun.sleep(KILL_EVERY_MS);
        const ready = await waitFor(
          async () => {
            const rs = (await replicas(agent, "demo")).filter((r) => r.state === "ready" && r.pid && !killed.includes(r.pid));
            return rs.length >= 2 ? rs : undefined;
          },
          { timeoutMs: 20_000, what: `two ready replicas before kill ${k + 1}` },
        );
        const victim = ready[k % ready.length]!;
        process.kill(victim.pid!, "SIGKILL");
        killed.push(victim.pid!);
        await tick;
      }
      await allReady(agent, "demo", 3);
    } finally {
      await traffic.stop();
    }
    const app = (await (await agent.api("/v1/apps/demo")).json()) as { crashLoop: boolean; state: string; replicas: Array<{ restarts: number }> };
    const evs = await events(agent);
    expect(app.crashLoop).toBe(false);
    expect(app.state).toBe("ok");
    // Each kill is restarted in its own slot by procs alone: a slot replaced by the healing ladder, or replicas adopted
    // after a procs worker restart, start their count again (and would leave the sum below KILLS without saying why).
    expect(evs.filter((e) => e.type.startsWith("healing.") || e.type === "worker.crashed" || e.type === "proc.adopted").map((e) => `${e.type} ${e.target}: ${e.message}`)).toEqual([]);
    expect(app.replicas.reduce((n, r) => n + r.restarts, 0)).toBe(KILLS);
    expect(evs.filter((e) => e.type === "proc.replica-crash-loop" || e.type === "proc.crash-loop")).toEqual([]);
    expect(traffic.failures).toEqual([]);
    expect(traffic.ok).toBeGreaterThan(KILLS * 10);
  }, 120_000);
});
