// The agent SIGKILLed under load, then started again on the same data dir; and a planned takeover under load.
import { allPassing, allReady, appInfo, chaosAgent, crashLines, doubleRunCount, emptyFigures, type Figures, killMarked, load, replicas, type Scenario, startAgent, waitFor, workerCrashes } from "./_harness.ts";

/** How long the restarted agent is watched for churn (stopping adopted replicas, starting extra ones). */
const SETTLE_MS = 5000;

export const agentSigkill: Scenario = {
  name: "agent-sigkill",
  goal: "after SIGKILL and restart: 0 state lost (scale, registrations, adopted replicas kept), 0 double-run, 0 crashes; failed requests while the agent is down are reported",
  judged: ["stateLost", "doubleRun", "crashes"],
  async run() {
    const f: Figures = emptyFigures();
    // An app scaled at run time above its config minimum: defect 2 of the campaign stopped the extra replicas.
    const { agent, port, marker } = await chaosAgent({ apps: 2, app: { replicas: { min: 2, max: 4 } } });
    const restartedRef: { a?: Awaited<ReturnType<typeof startAgent>> } = {};
    let traffic: ReturnType<typeof load> | undefined;
    try {
      await allReady(agent, "demo", 2, 60_000);
      const reg = await agent.api("/v1/services/chaos/registered", { method: "PUT", body: JSON.stringify({ endpoints: [{ address: "127.0.0.1", port: 1 }] }) });
      const scaled = await agent.api("/v1/apps/demo/scale", { method: "POST", body: JSON.stringify({ replicas: 3 }) });
      if (reg.status !== 200 || scaled.status >= 300) f.notes += `setup: PUT service ${reg.status}, scale ${scaled.status}; `;
      const before = await allReady(agent, "demo", 3, 60_000);
      await allPassing(agent, 3);
      traffic = load(port, 8, 120_000);
      await waitFor(() => traffic!.ok >= 100, { timeoutMs: 20_000, what: "load flowing" });
      agent.proc.kill("SIGKILL");
      await agent.proc.exited;
      const restarted = await startAgent({ sameDirAs: agent, readyTimeoutMs: 60_000 });
      restartedRef.a = restarted;
      const back = await allReady(restarted, "demo", 3, 30_000).then(() => true, () => false);
      await Bun.sleep(SETTLE_MS);
      await traffic.stop();
      const after = await replicas(restarted, "demo");
      const kept = before.filter((b) => after.some((a) => a.pid === b.pid && a.state === "ready")).length;
      const info = await appInfo(restarted, "demo");
      const regAfter = await restarted.api("/v1/services/chaos/registered");
      f.stateLost = (before.length - kept) + (regAfter.status === 200 ? 0 : 1) + (info?.desired === 3 ? 0 : 1);
      f.doubleRun = doubleRunCount(marker, 3);
      f.sent = traffic.ok + traffic.failures.length;
      f.failed = traffic.failures.length;
      f.crashes = crashLines(restarted).length + workerCrashes(restarted) + (restarted.proc.exitCode !== null ? 1 : 0);
      f.notes += `${kept}/${before.length} replicas adopted and kept; desired ${info?.desired} (was 3); registration ${regAfter.status === 200 ? "kept" : "lost"}; ${back ? "" : "not 3 ready within 30 s; "}failed requests are the agent's downtime (its data plane died with it)`;
      return f;
    } finally {
      await traffic?.stop();
      if (restartedRef.a) await restartedRef.a[Symbol.asyncDispose]();
      await agent[Symbol.asyncDispose]();
      killMarked(marker);
    }
  },
};

export const takeoverUnderLoad: Scenario = {
  name: "takeover-under-load",
  goal: "0 failed requests across `polis agent --takeover` (repeated), replicas kept with their pids, 0 crashes, 0 double-run",
  judged: ["failed", "stateLost", "doubleRun", "crashes"],
  async run(ctx) {
    const f: Figures = emptyFigures();
    const rounds = Math.max(1, Math.round(3 * ctx.scale));
    const first = await chaosAgent({ apps: 3 });
    const agents = [first.agent];
    const before = await allReady(first.agent, "demo", 3, 60_000);
    await allPassing(first.agent, 3);
    const traffic = load(first.port, 8, 120_000);
    try {
      await waitFor(() => traffic.ok >= 100, { timeoutMs: 20_000, what: "load flowing" });
      for (let i = 0; i < rounds; i++) {
        const current = agents[agents.length - 1]!;
        const next = await startAgent({ sameDirAs: first.agent, args: ["--takeover"], readyTimeoutMs: 60_000 });
        agents.push(next);
        const code = await Promise.race([current.proc.exited, Bun.sleep(30_000).then(() => "still running" as const)]);
        if (code !== 0) {
          f.crashes++;
          f.notes += `the replaced agent ${code === "still running" ? "did not exit within 30 s" : `exited ${code}`}; `;
        }
        const at = traffic.ok;
        await waitFor(() => traffic.ok >= at + 200, { timeoutMs: 20_000, what: "load served by the successor" });
      }
      await traffic.stop();
      const last = agents[agents.length - 1]!;
      const after = await replicas(last, "demo");
      f.stateLost = before.filter((b) => !after.some((a) => a.pid === b.pid)).length;
      f.doubleRun = doubleRunCount(first.marker, 3);
      f.sent = traffic.ok + traffic.failures.length;
      f.failed = traffic.failures.length;
      f.crashes += agents.reduce((n, a) => n + crashLines(a).length + workerCrashes(a), 0);
      f.notes += `${rounds} takeover(s) in a row; ${after.length} replicas, ${after.filter((a) => a.adopted).length} adopted${f.failed ? `; first failure: ${traffic.failures[0]?.slice(0, 80)}` : ""}`;
      return f;
    } finally {
      await traffic.stop();
      for (const a of agents.reverse()) await a.stop();
      await first.agent[Symbol.asyncDispose]();
      killMarked(first.marker);
    }
  },
};
