// One replica SIGKILLed every second under load (a replica that ran stably, killed from outside, is not a crash loop).
import { allPassing, allReady, appInfo, chaosAgent, crashLines, doubleRunCount, emptyFigures, type Figures, load, replicas, type Scenario, waitFor, workerCrashes } from "./_harness.ts";

const REPLICAS = 3;

export const replicaKillLoop: Scenario = {
  name: "replica-kill-loop",
  goal: "0 failed GETs while a replica is killed every second; all replicas ready after; 0 crashes; 0 double-run",
  judged: ["failed", "crashes", "doubleRun"],
  async run(ctx) {
    const f: Figures = emptyFigures();
    const { agent, port, marker } = await chaosAgent({ apps: REPLICAS });
    await using _ = agent;
    await allReady(agent, "demo", REPLICAS, 60_000);
    await allPassing(agent, REPLICAS);
    const traffic = load(port, 8, 120_000);
    const kills = Math.max(3, Math.round(30 * ctx.scale));
    let killed = 0;
    try {
      await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
      for (let i = 0; i < kills; i++) {
        const rs = (await replicas(agent, "demo")).filter((r) => r.state === "ready" && r.pid);
        const victim = rs[Math.floor(Math.random() * rs.length)];
        if (victim?.pid) {
          process.kill(victim.pid, "SIGKILL");
          killed++;
        }
        await Bun.sleep(1000);
      }
      const recovered = await allReady(agent, "demo", REPLICAS, 30_000).then(() => true, () => false);
      const info = await appInfo(agent, "demo");
      await traffic.stop();
      f.sent = traffic.ok + traffic.failures.length;
      f.failed = traffic.failures.length;
      f.crashes = crashLines(agent).length + workerCrashes(agent) + (agent.proc.exitCode !== null ? 1 : 0);
      f.doubleRun = doubleRunCount(marker, REPLICAS);
      f.notes = `${killed} kills at 1/s; ${recovered ? "all ready after" : `NOT all ready 30 s after (${info?.ready ?? "?"} ready, crash-loop ${info?.crashLoop})`}`;
      if (!recovered) f.failed += 0;
      if (f.failed > 0) f.notes += `; first failure: ${traffic.failures[0]?.slice(0, 80)}`;
      return f;
    } finally {
      await traffic.stop();
    }
  },
};
