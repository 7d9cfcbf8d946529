// Worker threads crashed through the fault-injection route (agent.allow_fault_injection) while traffic flows.
import { allPassing, allReady, chaosAgent, crashLines, doubleRunCount, emptyFigures, type Figures, load, type RunningAgent, type Scenario, waitFor } from "./_harness.ts";

/** Crashes `name` and waits until the agent reports it running again after that restart. */
async function crashAndRecover(agent: RunningAgent, name: string): Promise<boolean> {
  const before = agent.lines.filter((l) => l.event === "worker.restarted" && l.target === name).length;
  const res = await agent.api(`/v1/agent/workers/${name}/crash`, { method: "POST" });
  if (res.status !== 202) return false;
  return waitFor(() => agent.lines.filter((l) => l.event === "worker.restarted" && l.target === name).length > before, { timeoutMs: 30_000, what: `${name} restarted` }).then(
    () => true,
    () => false,
  );
}

const injected = (agent: RunningAgent) => agent.lines.filter((l) => l.event === "worker.crashed").length;

export const controlWorkerCrash: Scenario = {
  name: "control-worker-crash",
  goal: "procs, health and scaler workers crashed in turn under load: 0 failed GETs, each back, replicas adopted not restarted, 0 agent crashes, 0 double-run",
  judged: ["failed", "crashes", "doubleRun", "stateLost"],
  async run(ctx) {
    const f: Figures = emptyFigures();
    const { agent, port, marker } = await chaosAgent({ apps: 2, config: { agent: { allow_fault_injection: true } } });
    await using _ = agent;
    const before = await allReady(agent, "demo", 2, 60_000);
    await allPassing(agent, 2);
    const traffic = load(port, 8, 120_000);
    try {
      await waitFor(() => traffic.ok >= 100, { timeoutMs: 20_000, what: "load flowing" });
      const rounds = Math.max(1, Math.round(2 * ctx.scale));
      let recovered = 0;
      let tried = 0;
      for (let i = 0; i < rounds; i++) {
        for (const w of ["procs", "health", "scaler"]) {
          tried++;
          if (await crashAndRecover(agent, w)) recovered++;
          const at = traffic.ok;
          await waitFor(() => traffic.ok >= at + 50, { timeoutMs: 20_000, what: "load after the crash" });
        }
      }
      const after = await allReady(agent, "demo", 2, 30_000).catch(() => []);
      await traffic.stop();
      f.sent = traffic.ok + traffic.failures.length;
      f.failed = traffic.failures.length;
      f.stateLost = before.filter((b) => !after.some((a) => a.pid === b.pid)).length;
      // Every worker.crashed here was injected; a crash beyond those, or the agent dying, is a real one.
      f.crashes = crashLines(agent).length + Math.max(0, injected(agent) - tried) + (agent.proc.exitCode !== null ? 1 : 0) + (tried - recovered);
      f.doubleRun = doubleRunCount(marker, 2);
      f.notes = `${tried} injected crashes, ${recovered} workers back`;
      return f;
    } finally {
      await traffic.stop();
    }
  },
};

export const balancerWorkerCrash: Scenario = {
  name: "balancer-worker-crash",
  goal: "a balancer worker (of 2) crashed under load: back within its backoff, 0 agent crashes; failed requests (connections it held) reported",
  judged: ["crashes"],
  async run() {
    const f: Figures = emptyFigures();
    const { agent, port } = await chaosAgent({ apps: 2, config: { agent: { allow_fault_injection: true, balancer_workers: 2 } } });
    await using _ = agent;
    await allReady(agent, "demo", 2, 60_000);
    await allPassing(agent, 2);
    const traffic = load(port, 8, 120_000);
    try {
      await waitFor(() => traffic.ok >= 100, { timeoutMs: 20_000, what: "load flowing" });
      const back = await crashAndRecover(agent, "balancer-0");
      const at = traffic.ok;
      await waitFor(() => traffic.ok >= at + 200, { timeoutMs: 20_000, what: "load after the crash" });
      await traffic.stop();
      f.sent = traffic.ok + traffic.failures.length;
      f.failed = traffic.failures.length;
      f.crashes = crashLines(agent).length + Math.max(0, injected(agent) - 1) + (agent.proc.exitCode !== null ? 1 : 0) + (back ? 0 : 1);
      f.notes = `balancer-0 ${back ? "back" : "NOT back"}; failures are requests on connections the crashed thread held${f.failed ? ` (first: ${traffic.failures[0]?.slice(0, 60)})` : ""}`;
      return f;
    } finally {
      await traffic.stop();
    }
  },
};
