// Rollouts on the compiled agent with real replicas behind its balancer: a good revision replaces every replica
// under load with no failed request, bad revisions (exits at start, answers 500) are reverted by themselves, a bad
// spec creates nothing, rollback goes to a named revision, history survives a restart, and an agent killed in the
// middle of a rollout finishes it after its restart without running a replica twice.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { deployWebApp, type EventInfo, events, freePort, load, replicaProcesses, replicas } from "../fixtures/it-apps-fixture.ts";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";

const deployApp = deployWebApp;

async function startWeb(extra: Record<string, unknown> = {}) {
  const port = freePort();
  const agent = await startAgent({ config: { api: { allow_api_commands: true }, apps: [deployApp(extra)], balancers: [{ name: "web", listen: `127.0.0.1:${port}`, backends: { app: "web" } }] } });
  return { agent, port };
}

interface RolloutInfo {
  id: string;
  status: string;
  active: boolean;
  from: number;
  to: number;
  target: number;
  failure: string | null;
  reason: string;
}

const readyRevisions = async (agent: RunningAgent) => (await replicas(agent, "web")).filter((r) => r.state === "ready").map((r) => (r as unknown as { revision: number }).revision);

async function ready(agent: RunningAgent, revision: number, n = 3) {
  await waitFor(async () => {
    const rs = await readyRevisions(agent);
    return rs.length === n && rs.every((r) => r === revision);
  }, { timeoutMs: 30_000, what: `${n} ready replicas of revision ${revision}` });
}

async function ended(agent: RunningAgent, id: string): Promise<RolloutInfo> {
  return waitFor(async () => {
    const r = (await (await agent.api(`/v1/apps/web/deployments/${id}`)).json()) as RolloutInfo;
    return r.active ? undefined : r;
  }, { timeoutMs: 45_000, what: `rollout ${id} to end` });
}

const deployEvents = async (agent: RunningAgent): Promise<EventInfo[]> => (await events(agent)).filter((e) => e.type.startsWith("deploy."));

const deploy = (agent: RunningAgent, spec: Record<string, unknown>, strategy?: Record<string, unknown>) =>
  agent.api("/v1/apps/web/deployments", { method: "POST", body: JSON.stringify({ spec, ...(strategy ? { strategy } : {}) }) });

describe("deployments", () => {
  test("a config reload that changes env rolls every replica to the new revision under load with no failed request; history survives a restart", async () => {
    let { agent, port } = await startWeb();
    try {
      await ready(agent, 1);
      const traffic = load(port, 4, 60_000);
      let rollout: RolloutInfo;
      try {
        await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
        const file = join(agent.dir, "agent.yaml");
        const cfg = parse(readFileSync(file, "utf8"));
        cfg.apps[0].env = { VERSION: "v2" };
        writeFileSync(file, stringify(cfg));
        agent.proc.kill("SIGHUP");
        const started = await waitFor(async () => (await deployEvents(agent)).find((e) => e.type === "deploy.started"), { timeoutMs: 10_000, what: "deploy.started" });
        rollout = await ended(agent, String(started.data!.rollout));
        const done = traffic.ok;
        await waitFor(() => traffic.ok >= done + 50, { timeoutMs: 20_000, what: "load after the rollout" });
      } finally {
        await traffic.stop();
      }
      expect(rollout).toMatchObject({ status: "succeeded", from: 1, to: 2 });
      expect(traffic.failures).toEqual([]);
      await ready(agent, 2);
      const types = (await deployEvents(agent)).map((e) => e.type);
      expect(types).toEqual(expect.arrayContaining(["deploy.revision", "deploy.started", "deploy.succeeded"]));
      expect(types).not.toContain("deploy.reverting");

      await agent.stop();
      const again = await startAgent({ sameDirAs: agent });
      const dir = agent.dir;
      agent = again;
      expect(agent.dir).toBe(dir);
      const revs = (await (await agent.api("/v1/apps/web/revisions")).json()) as { current: number; revisions: Array<{ number: number; source: string }> };
      expect(revs.current).toBe(2);
      expect(revs.revisions.map((r) => r.number)).toEqual([1, 2]);
      await ready(agent, 2);
      // The file did not change again: a restart starts no rollout.
      const hist = (await (await agent.api("/v1/apps/web/deployments")).json()) as { deployments: RolloutInfo[] };
      expect(hist.deployments.map((d) => d.status)).toEqual(["succeeded"]);
    } finally {
      await agent[Symbol.asyncDispose]();
    }
  }, 120_000);

  test("a revision that exits at start is reverted by itself with no failed request, and the app keeps running the old one", async () => {
    const { agent, port } = await startWeb();
    await using _ = agent;
    await ready(agent, 1);
    const traffic = load(port, 4, 60_000);
    let rollout: RolloutInfo;
    try {
      await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
      const res = await deploy(agent, { env: { MODE: "exit" } });
      expect(res.status).toBe(202);
      rollout = await ended(agent, ((await res.json()) as RolloutInfo).id);
    } finally {
      await traffic.stop();
    }
    expect(rollout).toMatchObject({ status: "reverted", from: 1, to: 2 });
    expect(rollout.failure).toContain("exited after it started");
    expect(traffic.failures).toEqual([]);
    await ready(agent, 1);
    const app = (await (await agent.api("/v1/apps/web")).json()) as { revision: { current: number; target: number } };
    expect(app.revision).toEqual({ current: 1, target: 1 });
    expect((await deployEvents(agent)).map((e) => e.type)).toContain("deploy.reverted");
  }, 90_000);

  test("a revision that answers 500 fails its checks and is reverted at healthy_deadline; the failed requests are few and all from it", async () => {
    const { agent, port } = await startWeb();
    await using _ = agent;
    await ready(agent, 1);
    const traffic = load(port, 4, 60_000);
    let rollout: RolloutInfo;
    try {
      await waitFor(() => traffic.ok >= 50, { timeoutMs: 20_000, what: "load flowing" });
      const res = await deploy(agent, { env: { MODE: "error" } });
      rollout = await ended(agent, ((await res.json()) as RolloutInfo).id);
    } finally {
      await traffic.stop();
    }
    expect(rollout.status).toBe("reverted");
    expect(rollout.failure).toContain("healthy_deadline");
    // Until its first check fails the new replica gets its share of traffic: a bounded handful of 500s.
    console.log(`500-answering revision: ${traffic.failures.length} failed of ${traffic.ok + traffic.failures.length} requests`);
    expect(traffic.failures.every((f) => f.startsWith("500 broken"))).toBe(true);
    expect(traffic.failures.length).toBeLessThan(traffic.ok / 100);
    await ready(agent, 1);
  }, 90_000);

  test("with analysis on, a revision 10x slower than the old one is reverted by the latency comparison, with no failed request", async () => {
    const { agent, port } = await startWeb({ deploy: { min_healthy_time: "4s", healthy_deadline: "20s", analysis: { max_latency_ratio: 3, min_requests: 20 } } });
    await using _ = agent;
    await ready(agent, 1);
    const traffic = load(port, 4, 60_000);
    let rollout: RolloutInfo;
    try {
      await waitFor(() => traffic.ok >= 200, { timeoutMs: 20_000, what: "load flowing" });
      const res = await deploy(agent, { env: { MODE: "slow", SLOW_MS: "60" } });
      rollout = await ended(agent, ((await res.json()) as RolloutInfo).id);
    } finally {
      await traffic.stop();
    }
    expect(rollout.status).toBe("reverted");
    expect(rollout.failure).toContain("p95 latency");
    expect(traffic.failures).toEqual([]);
    await ready(agent, 1);
  }, 90_000);

  test("with analysis on, a revision whose p95 is fine but 1 request in 40 stalls is reverted by the p99 comparison, with no failed request", async () => {
    // The p95 bound is out of reach (a loaded host can move p95 by 10x on its own): only the p99 gate can revert.
    const { agent, port } = await startWeb({ deploy: { min_healthy_time: "6s", healthy_deadline: "30s", analysis: { max_latency_ratio: 1000, max_p99_ratio: 3, min_requests: 100 } } });
    await using _ = agent;
    await ready(agent, 1);
    const traffic = load(port, 4, 60_000);
    let rollout: RolloutInfo;
    try {
      await waitFor(() => traffic.ok >= 200, { timeoutMs: 20_000, what: "load flowing" });
      const res = await deploy(agent, { env: { MODE: "tail", SLOW_EVERY: "40", SLOW_MS: "800" } });
      rollout = await ended(agent, ((await res.json()) as RolloutInfo).id);
    } finally {
      await traffic.stop();
    }
    expect(rollout.status).toBe("reverted");
    expect(rollout.failure).toContain("p99 latency");
    expect(traffic.failures).toEqual([]);
    await ready(agent, 1);
  }, 90_000);

  test("a spec that fails validation creates no revision and changes nothing; unknown apps and fields are refused", async () => {
    const { agent } = await startWeb();
    await using _ = agent;
    await ready(agent, 1);
    const bad = await deploy(agent, { command: "", readiness: { kind: "sometimes" } });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { code: string; message: string; details: { problems: Array<{ field: string }> } };
    expect(body.code).toBe("invalid_spec");
    expect(body.details.problems.map((p) => p.field)).toEqual(expect.arrayContaining(["spec.command", "spec.readiness.kind"]));
    const notRevision = await deploy(agent, { replicas: 5 });
    expect(notRevision.status).toBe(400);
    expect(((await notRevision.json()) as { message: string }).message).toContain("spec.replicas");
    expect((await agent.api("/v1/apps/nope/deployments", { method: "POST", body: JSON.stringify({ spec: { env: {} } }) })).status).toBe(404);
    const revs = (await (await agent.api("/v1/apps/web/revisions")).json()) as { revisions: unknown[] };
    expect(revs.revisions).toHaveLength(1);
    expect((await deploy(agent, { env: { VERSION: "v1" } })).status).toBe(409);
  }, 60_000);

  test("without api.allow_api_commands in the file, a deployment that changes what runs is refused (403, each field) and creates no revision", async () => {
    await using agent = await startAgent({ config: { apps: [deployApp({ replicas: 1 })] } });
    await ready(agent, 1, 1);
    const refused = await deploy(agent, { command: "/bin/sh", args: ["-c", "id"], env: { VERSION: "v2" } });
    expect(refused.status).toBe(403);
    const body = (await refused.json()) as { message: string; details: { problems: Array<{ field: string }> } };
    expect(body.details.problems.map((p) => p.field)).toEqual(["spec.command", "spec.args", "spec.env"]);
    expect(body.message).toContain("api.allow_api_commands");
    const revs = (await (await agent.api("/v1/apps/web/revisions")).json()) as { revisions: unknown[] };
    expect(revs.revisions).toHaveLength(1);
    // And PATCH /v1/config the same: the command stays the file's.
    const patched = await agent.api("/v1/config", { method: "PATCH", body: JSON.stringify({ apps: [{ name: "web", command: "/bin/sh" }] }) });
    expect(patched.status).toBe(403);
  }, 60_000);

  test("rollback goes to a named revision; pause holds a rollout, abort reverts it, a new revision supersedes it", async () => {
    const { agent } = await startWeb({ replicas: 2, deploy: { min_healthy_time: "500ms", healthy_deadline: "8s" } });
    await using _ = agent;
    await ready(agent, 1, 2);
    const two = (await (await deploy(agent, { env: { VERSION: "v2" } })).json()) as RolloutInfo;
    expect((await ended(agent, two.id)).status).toBe("succeeded");
    const three = (await (await deploy(agent, { env: { VERSION: "v3" } })).json()) as RolloutInfo;
    expect((await ended(agent, three.id)).status).toBe("succeeded");
    await ready(agent, 3, 2);

    const back = await agent.api("/v1/apps/web/rollback", { method: "POST", body: JSON.stringify({ revision: 1 }) });
    expect(back.status).toBe(202);
    const rb = (await back.json()) as RolloutInfo;
    expect(rb).toMatchObject({ from: 3, to: 1 });
    expect((await ended(agent, rb.id)).status).toBe("succeeded");
    await ready(agent, 1, 2);
    expect((await agent.api("/v1/apps/web/rollback", { method: "POST", body: JSON.stringify({ revision: 99 }) })).status).toBe(404);

    // A slow rollout (long min_healthy_time) to pause and abort.
    const slow = (await (await deploy(agent, { env: { VERSION: "v4" } }, { min_healthy_time: "30s", healthy_deadline: "2m" })).json()) as RolloutInfo;
    const paused = (await (await agent.api(`/v1/apps/web/deployments/${slow.id}/pause`, { method: "POST" })).json()) as RolloutInfo;
    expect(paused.status).toBe("paused");
    const aborted = (await (await agent.api(`/v1/apps/web/deployments/${slow.id}/abort`, { method: "POST" })).json()) as RolloutInfo;
    expect(aborted).toMatchObject({ target: 1, failure: `aborted by local-admin` });
    expect((await ended(agent, slow.id)).status).toBe("reverted");
    await ready(agent, 1, 2);
    expect((await agent.api(`/v1/apps/web/deployments/${slow.id}/resume`, { method: "POST" })).status).toBe(409);

    // A new revision during a rollout supersedes it: the app ends on the newest, from the last one that completed.
    const v5 = (await (await deploy(agent, { env: { VERSION: "v5" } }, { min_healthy_time: "30s", healthy_deadline: "2m" })).json()) as RolloutInfo;
    await waitFor(async () => (await readyRevisions(agent)).includes(v5.to), { timeoutMs: 20_000, what: "a replica of the superseded revision" });
    const v6 = (await (await deploy(agent, { env: { VERSION: "v6" } })).json()) as RolloutInfo;
    expect(v6.from).toBe(1);
    expect((await (await agent.api(`/v1/apps/web/deployments/${v5.id}`)).json()) as RolloutInfo).toMatchObject({ status: "superseded", active: false });
    expect((await ended(agent, v6.id)).status).toBe("succeeded");
    await ready(agent, v6.to, 2);
    expect((await deployEvents(agent)).map((e) => e.type)).toContain("deploy.superseded");
  }, 120_000);

  test("an agent killed mid-rollout resumes it after its restart: adopted replicas keep their revisions and none runs twice", async () => {
    let { agent } = await startWeb({ deploy: { min_healthy_time: "3s", healthy_deadline: "30s" } });
    const owner = join(agent.dir, "data", "logs");
    try {
      await ready(agent, 1);
      const r = (await (await deploy(agent, { env: { VERSION: "v2" } })).json()) as RolloutInfo;
      // Kill it once the first new replica runs beside the old ones.
      await waitFor(async () => (await readyRevisions(agent)).includes(2), { timeoutMs: 20_000, what: "a replica of revision 2" });
      agent.proc.kill("SIGKILL");
      await agent.proc.exited;
      const during = replicaProcesses(owner, "web").length;
      expect(during).toBe(4);
      const again = await startAgent({ sameDirAs: agent });
      agent = again;
      let most = 0;
      const done = await waitFor(async () => {
        most = Math.max(most, replicaProcesses(owner, "web").length);
        const d = (await (await agent.api(`/v1/apps/web/deployments/${r.id}`)).json()) as RolloutInfo;
        return d.active ? undefined : d;
      }, { timeoutMs: 60_000, what: "the resumed rollout to end" });
      expect(done.status).toBe("succeeded");
      await ready(agent, 2);
      // Never more than desired + max_surge processes, and exactly the desired count at the end.
      expect(most).toBeLessThanOrEqual(4);
      expect(replicaProcesses(owner, "web")).toHaveLength(3);
      const adopted = (await events(agent)).filter((e) => e.type === "proc.adopted");
      expect(adopted.map((e) => e.data?.revision).sort()).toEqual([1, 1, 1, 2]);
    } finally {
      await agent[Symbol.asyncDispose]();
    }
  }, 150_000);
});
