// The recovery ladder on the compiled binary with real processes and sockets: a replica that starts answering 500
// (its health check too) is restarted, then replaced by a fresh slot on a new port, then the balancer fails over to
// its backup endpoint, then an alert fires, in that order, each step in /v1/healing and the event stream. Once the
// replica is healthy again for recover_after, the balancer fails back to it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, portRange } from "../fixtures/it-apps-fixture.ts";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson, type Json } from "./api-support.ts";

const FIXTURE = join(import.meta.dir, "../fixtures/sick-app-fixture.ts");

describe("self-healing on the compiled binary", () => {
  let agent: RunningAgent;
  let dir: string;
  let backup: ReturnType<typeof Bun.serve>;
  let lbPort: number;
  let sickFile: string;

  const get = async () => {
    const r = await fetch(`http://127.0.0.1:${lbPort}/`, { signal: AbortSignal.timeout(3000) });
    return { status: r.status, text: await r.text() };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "polis-healing-"));
    sickFile = join(dir, "sick");
    backup = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("backup\n") });
    lbPort = await freePort();
    agent = await startAgent({
      config: {
        apps: [
          {
            name: "sick",
            command: process.execPath,
            args: [FIXTURE],
            env: { SICK_FILE: sickFile },
            replicas: 1,
            port: { range: portRange() },
            readiness: { kind: "port", timeout: "10s" },
            stop: { timeout: "2s" },
            checks: [{ name: "http", kind: "http", path: "/", interval: "1s", timeout: "500ms" }],
          },
        ],
        balancers: [{ name: "web", listen: `127.0.0.1:${lbPort}`, protocol: "http", backends: { app: "sick", backup: { endpoints: [{ address: `127.0.0.1:${backup.port}` }] } }, retries: { max: 0 } }],
        healing: {
          interval: "250ms",
          unhealthy_for: "1s",
          recover_after: "3s",
          rungs: [
            { rung: "restart", attempts: 1, backoff: "2s" },
            { rung: "replace", attempts: 1, backoff: "2s" },
            { rung: "scale_out", attempts: 1, backoff: "2s" },
            { rung: "failover", attempts: 1, backoff: "2s" },
          ],
        },
      },
    });
    await waitFor(async () => (await get().catch(() => ({ text: "" }))).text.startsWith("primary sick-0"), { timeoutMs: 30_000, what: "the primary replica serving" });
  }, 60_000);

  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
    backup?.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  test("restart, then replace, then failover to the backup, then an alert; failback once the primary is healthy again", async () => {
    const before = await getJson(agent, "/v1/apps/sick");
    const firstPort = before.replicas[0].port;
    writeFileSync(sickFile, "1");
    const ladder = () => getJson(agent, "/v1/healing");
    const target = async () => ((await ladder()).targets as Json[])[0];
    await waitFor(async () => (await target())?.phase === "exhausted", { timeoutMs: 60_000, intervalMs: 250, what: "the ladder exhausted" });
    const t = await target();
    const steps = (t.history as Json[]).filter((s) => s.action !== "verdict").map((s) => `${s.action}:${s.outcome}`);
    expect(steps).toEqual(["restart:done", "replace:done", "scale_out:skipped", "failover:done", "alert:done"]);
    // The replace moved the ladder to a fresh slot on a new port.
    expect(t.target).not.toBe("sick-0");
    const after = await getJson(agent, "/v1/apps/sick");
    expect(after.replicas.map((r: Json) => r.id)).toEqual([t.replica]);
    expect(after.replicas[0].port).not.toBe(firstPort);
    expect(t.failedOver).toEqual(["web"]);
    expect(t.alert).toBeString();
    const alert = await getJson(agent, `/v1/alerts/${t.alert}`);
    expect(alert).toMatchObject({ labels: { target: t.target, app: "sick" } });
    // Every step was an event, in the ladder's order.
    const ev = ((await getJson(agent, "/v1/events?limit=500")).events as Json[]).filter((e) => String(e.type).startsWith("healing."));
    expect(ev.map((e) => `${e.type}:${e.data?.action ?? ""}`)).toEqual([
      "healing.started:", "healing.action:restart", "healing.action:replace", "healing.action:scale_out", "healing.action:failover", "healing.exhausted:alert",
    ]);
    const lb = await getJson(agent, "/v1/balancers/web");
    expect(lb).toMatchObject({ failedOver: true, onBackup: true });
    expect((await get()).text).toBe("backup\n");

    // The primary heals: while the balancer is still failed over (hysteresis), traffic stays on the backup...
    unlinkSync(sickFile);
    await waitFor(async () => ((await getJson(agent, "/v1/services/default/sick")).endpoints as Json[]).every((e) => e.health === "passing"), { timeoutMs: 20_000, what: "the primary passing" });
    const still = (await getJson(agent, "/v1/balancers/web")).failedOver;
    const during = await get();
    if (still && (await getJson(agent, "/v1/balancers/web")).failedOver) expect(during.text).toBe("backup\n");
    // ...and after recover_after of health it fails back, the alert resolves, and the primary serves again.
    await waitFor(async () => (await target())?.phase === "healthy", { timeoutMs: 30_000, intervalMs: 250, what: "the ladder recovered" });
    await waitFor(async () => (await get()).text.startsWith("primary "), { timeoutMs: 10_000, what: "traffic back on the primary" });
    expect((await getJson(agent, "/v1/balancers/web")).failedOver).toBe(false);
    expect((await target()).history.map((s: Json) => s.action).slice(-2)).toEqual(["failback", "recovered"]);
    expect((await getJson(agent, `/v1/alerts/${t.alert}`)).state).toBe("resolved");
  }, 120_000);
});
