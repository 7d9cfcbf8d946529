// A replica frozen with SIGSTOP under load (alive, port open, answering nothing), then thawed; and an upstream that
// accepts connections and never answers (a black hole) next to a healthy one.
import { allPassing, allReady, chaosAgent, crashLines, doubleRunCount, emptyFigures, type Figures, load, replicas, type Scenario, waitFor } from "./_harness.ts";

export const stoppedReplica: Scenario = {
  name: "sigstop-replica",
  goal: "0 failed GETs while one of 3 replicas is SIGSTOPped (health check ejects it; in-flight requests retried), back after SIGCONT; 0 crashes",
  judged: ["failed", "crashes", "doubleRun"],
  async run(ctx) {
    const f: Figures = emptyFigures();
    const { agent, port, marker } = await chaosAgent({ apps: 3, balancer: { timeouts: { request: "2s", connect: "1s" } } });
    await using _ = agent;
    const rs = await allReady(agent, "demo", 3, 60_000);
    await allPassing(agent, 3);
    const traffic = load(port, 8, 120_000);
    const victim = rs[0]!.pid!;
    try {
      await waitFor(() => traffic.ok >= 100, { timeoutMs: 20_000, what: "load flowing" });
      process.kill(victim, "SIGSTOP");
      await Bun.sleep(Math.max(3000, 10_000 * ctx.scale));
      process.kill(victim, "SIGCONT");
      const back = await allReady(agent, "demo", 3, 30_000).then(() => true, () => false);
      const at = traffic.ok;
      await waitFor(() => traffic.ok >= at + 100, { timeoutMs: 20_000, what: "load after SIGCONT" });
      await traffic.stop();
      const same = (await replicas(agent, "demo")).some((r) => r.pid === victim);
      f.sent = traffic.ok + traffic.failures.length;
      f.failed = traffic.failures.length;
      f.crashes = crashLines(agent).length + (agent.proc.exitCode !== null ? 1 : 0);
      f.doubleRun = doubleRunCount(marker, 3);
      f.notes = `stopped ${Math.max(3, 10 * ctx.scale).toFixed(0)} s; ${back ? "3 ready after SIGCONT" : "NOT 3 ready after SIGCONT"}; frozen replica ${same ? "kept" : "replaced"}${f.failed ? `; first failure: ${traffic.failures[0]?.slice(0, 60)}` : ""}`;
      return f;
    } finally {
      try {
        process.kill(victim, "SIGCONT");
      } catch {
        // Gone.
      }
      await traffic.stop();
    }
  },
};

export const blackHoleUpstream: Scenario = {
  name: "black-hole-upstream",
  goal: "0 failed GETs with a black-hole endpoint (accepts, never answers) beside healthy replicas: timeouts retried, outlier ejected; 0 crashes",
  judged: ["failed", "crashes"],
  async run(ctx) {
    const f: Figures = emptyFigures();
    const held: unknown[] = [];
    const hole = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void held.push(s), data() {} } });
    try {
      const { agent, port } = await chaosAgent({
        apps: 2,
        balancer: {
          backends: { app: "demo", endpoints: [{ address: `127.0.0.1:${hole.port}` }] },
          timeouts: { request: "1s", connect: "1s" },
          retries: { max: 2, budget_percent: 100, min_per_second: 100 },
          outlier: { enabled: true, consecutive_gateway_failure: 2, base_ejection_time: "30s" },
        },
      });
      await using _ = agent;
      // Three endpoints: the two replicas and the hole (which has no check of its own, so nothing ejects it but outliers).
      await waitFor(async () => (await replicas(agent, "demo")).filter((r) => r.state === "ready").length === 2, { timeoutMs: 60_000, what: "2 ready replicas" });
      const traffic = load(port, 8, 120_000);
      try {
        await Bun.sleep(Math.max(3000, 10_000 * ctx.scale));
        await traffic.stop();
        f.sent = traffic.ok + traffic.failures.length;
        f.failed = traffic.failures.length;
        f.crashes = crashLines(agent).length + (agent.proc.exitCode !== null ? 1 : 0);
        f.notes = `${held.length} connections into the hole${f.failed ? `; first failure: ${traffic.failures[0]?.slice(0, 60)}` : ""}`;
        return f;
      } finally {
        await traffic.stop();
      }
    } finally {
      hole.stop(true);
    }
  },
};
