// Alerts on the compiled binary: a real failing check raises an alert, delivered to a real local webhook receiver
// in Alertmanager's format (signed), acknowledged, silenced, resolved by itself when the check passes, and kept
// across an agent restart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary, type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { freePort, type Json } from "./api-support.ts";

const SECRET = "a-webhook-secret-of-some-length";

describe("alerts on the compiled binary", () => {
  const received: Array<{ body: Json; signature: string | null; valid: boolean }> = [];
  let failNext = 0;
  let receiver: ReturnType<typeof Bun.serve>;
  let agent: RunningAgent;
  let checkPort: number;

  beforeAll(async () => {
    receiver = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const text = await req.text();
        if (failNext > 0) {
          failNext--;
          return new Response("busy", { status: 503 });
        }
        const signature = req.headers.get("x-polis-signature");
        received.push({ body: JSON.parse(text), signature, valid: signature === `sha256=${createHmac("sha256", SECRET).update(text).digest("hex")}` });
        return new Response("ok");
      },
    });
    checkPort = await freePort();
    agent = await startAgent({
      config: {
        checks: [{ name: "db", kind: "tcp", target: `127.0.0.1:${checkPort}`, interval: "1s", timeout: "500ms" }],
        alerts: {
          evaluation_interval: "200ms",
          sources: { check_critical: { for: "1s" } },
          group_wait: "0s",
          group_interval: "1s",
          receivers: [{ name: "ops", url: `http://127.0.0.1:${receiver.port}/hook`, hmac_secret: SECRET, backoff: "100ms", max_attempts: 5 }],
        },
      },
    });
  });
  afterAll(async () => {
    await agent?.stop();
    receiver?.stop(true);
  });

  const alertsOf = async (q = "") => ((await (await agent.api(`/v1/alerts${q}`)).json()) as Json).alerts as Json[];

  test("a check critical for longer than `for` fires one alert, delivered signed in Alertmanager's version 4 format after a failed attempt", async () => {
    failNext = 1;
    const [alert] = await waitFor(async () => {
      const list = await alertsOf("?state=firing&label=check=db");
      return list.length > 0 && list;
    }, { timeoutMs: 20_000, what: "the CheckCritical alert" });
    expect(alert).toMatchObject({ name: "CheckCritical", severity: "critical", source: "check_critical", labels: { alertname: "CheckCritical", severity: "critical", check: "db" }, occurrences: 1 });
    const hook = await waitFor(() => received.find((r) => r.body.status === "firing"), { timeoutMs: 15_000, what: "the firing webhook" });
    expect(hook.valid).toBe(true);
    expect(hook.body).toMatchObject({ version: "4", status: "firing", receiver: "ops", groupLabels: { alertname: "CheckCritical" }, truncatedAlerts: 0 });
    expect(typeof hook.body.groupKey).toBe("string");
    expect(hook.body.externalURL).toBe(agent.url);
    expect(hook.body.alerts[0]).toMatchObject({ status: "firing", labels: { check: "db" }, endsAt: "0001-01-01T00:00:00Z", fingerprint: alert!.fingerprint, generatorURL: `${agent.url}/v1/alerts/${alert!.id}` });
    // The receiver answered before the agent recorded the attempt: wait for the record.
    const delivered = await waitFor(async () => (((await (await agent.api("/v1/alerts/notifications")).json()) as Json).notifications as Json[]).find((x) => x.state === "delivered"), { what: "the delivered notification" });
    expect(delivered.attempts.map((a: Json) => a.status)).toEqual([503, 200]);
    // Still one alert: the continuing condition is not a new one.
    expect((await alertsOf("?label=check=db")).length).toBe(1);
  }, 30_000);

  test("acknowledge records who; resolving or acknowledging an unknown id is 404, a bad body 400", async () => {
    const [alert] = await alertsOf("?label=check=db");
    const r = await agent.api(`/v1/alerts/${alert!.id}/acknowledge`, { method: "POST", body: JSON.stringify({ comment: "looking" }) });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ state: "acknowledged", acknowledgedBy: "local-admin", ackComment: "looking" });
    expect((await agent.api("/v1/alerts/999/acknowledge", { method: "POST", body: "{}" })).status).toBe(404);
    const bad = await agent.api(`/v1/alerts/${alert!.id}/acknowledge`, { method: "POST", body: JSON.stringify({ comment: 5 }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).message).toContain("comment");
  }, 30_000);

  test("API alerts deduplicate by labels, silences show them silenced, stats count them", async () => {
    const body = { name: "DiskSlow", severity: "warning", labels: { host: "a" }, annotations: { summary: "slow disk" } };
    const badSilence = await agent.api("/v1/silences", { method: "POST", body: JSON.stringify({ matchers: ["host"], duration: "1h", comment: "x" }) });
    expect(badSilence.status).toBe(400);
    expect(((await badSilence.json()) as Json).message).toContain("matchers.0");
    // The silence comes first, so the alert is never notified while it lasts.
    const s = await agent.api("/v1/silences", { method: "POST", body: JSON.stringify({ matchers: ["host=a"], duration: "1h", comment: "disk swap" }) });
    expect(s.status).toBe(201);
    const silence = (await s.json()) as Json;
    expect(silence).toMatchObject({ state: "active", matchers: ["host=a"], createdBy: "local-admin" });
    const first = await agent.api("/v1/alerts", { method: "POST", body: JSON.stringify(body) });
    expect(first.status).toBe(201);
    const again = await agent.api("/v1/alerts", { method: "POST", body: JSON.stringify(body) });
    expect(again.status).toBe(200);
    const a = ((await again.json()) as Json).alert;
    expect(a.occurrences).toBe(2);
    expect(a.state).toBe("silenced");
    const stats = (await (await agent.api("/v1/alerts/stats")).json()) as Json;
    expect(stats.byState).toMatchObject({ acknowledged: 1, silenced: 1 });
    expect(stats.meanTimeToAcknowledgeMs).toBeGreaterThan(0);
    const metrics = await (await fetch(`${agent.url}/metrics`)).text();
    expect(metrics).toMatch(/polis_alerts\{(?=[^}]*state="acknowledged")(?=[^}]*severity="critical")[^}]*\} 1/);
    expect(metrics).toMatch(/polis_alert_notifications_total\{(?=[^}]*receiver="ops")(?=[^}]*outcome="sent")[^}]*\} [1-9]/);
    expect(received.some((r) => r.body.alerts.some((x: Json) => x.labels.alertname === "DiskSlow"))).toBe(false);
    expect((await agent.api(`/v1/silences/${silence.id}`, { method: "DELETE" })).status).toBe(200);
    await waitFor(async () => ((await (await agent.api(`/v1/alerts/${a.id}`)).json()) as Json).state === "firing", { what: "the alert firing again" });
    await waitFor(() => received.some((r) => r.body.alerts.some((x: Json) => x.labels.alertname === "DiskSlow")), { what: "the DiskSlow notification after the silence" });
  }, 30_000);

  test("the condition clearing resolves the alert by itself and tells the receiver", async () => {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: checkPort, socket: { data() {} } });
    try {
      const resolved = await waitFor(async () => {
        const list = await alertsOf("?label=check=db&state=resolved");
        return list.length > 0 && list[0];
      }, { timeoutMs: 20_000, what: "the alert resolved" });
      expect(resolved).toMatchObject({ resolvedBy: "condition", acknowledgedBy: "local-admin" });
      const hook = await waitFor(() => received.find((r) => r.body.status === "resolved" && r.body.alerts.some((x: Json) => x.labels.check === "db")), { timeoutMs: 15_000, what: "the resolved webhook" });
      expect(hook.body.alerts[0].endsAt).not.toBe("0001-01-01T00:00:00Z");
    } finally {
      listener.stop(true);
    }
  }, 30_000);

  test("polis alerts, polis alert ack and polis silence drive the same API", async () => {
    const polis = async (...args: string[]) => {
      const p = Bun.spawn([requireBinary(), ...args, "--url", agent.url, "--token", agent.token], { cwd: agent.dir, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { out, err, code };
    };
    await agent.api("/v1/alerts", { method: "POST", body: JSON.stringify({ name: "CliCase", severity: "info", labels: { via: "cli" }, annotations: { summary: "from the cli test" } }) });
    const list = await polis("alerts", "--state", "firing", "--label", "via=cli");
    expect(list.code).toBe(0);
    expect(list.out).toContain("CliCase");
    expect(list.out).toContain("from the cli test");
    const [a] = await alertsOf("?label=via=cli");
    const ack = await polis("alert", "ack", a!.id, "--comment", "mine");
    expect(ack.out).toContain(`alert ${a!.id} (CliCase) acknowledged by local-admin`);
    const bad = await polis("alert", "ack", "424242");
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain("no alert 424242");
    const add = await polis("silence", "add", "via=cli", "--for", "10m", "--comment", "quiet");
    expect(add.code).toBe(0);
    expect(add.out).toMatch(/silence s\d+ on via=cli/);
    const usage = await polis("silence", "add", "via=cli");
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("--comment is required");
  }, 30_000);

  test("an agent restart keeps every alert and silence", async () => {
    const before = await alertsOf();
    const silences = ((await (await agent.api("/v1/silences")).json()) as Json).silences as Json[];
    await agent.stop();
    agent = await startAgent({ sameDirAs: agent });
    const after = new Map((await alertsOf()).map((a) => [a.id, a]));
    // The check fails again once the test's listener is gone, so a new alert may join: every old one is kept as it was.
    for (const a of before) expect(after.get(a.id)).toMatchObject({ name: a.name, state: a.state, occurrences: a.occurrences, startsAt: a.startsAt });
    expect((((await (await agent.api("/v1/silences")).json()) as Json).silences as Json[]).map((s) => s.id)).toEqual(silences.map((s) => s.id));
  }, 30_000);
});

describe("the routing tree on the compiled binary", () => {
  test("alerts go where the tree leads: continue sends a critical one to the pager and on to its team; others stay with the root", async () => {
    const got: Array<{ path: string; body: Json }> = [];
    const receiver = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        got.push({ path: new URL(req.url).pathname, body: JSON.parse(await req.text()) });
        return new Response("ok");
      },
    });
    const hook = (name: string) => ({ name, url: `http://127.0.0.1:${receiver.port}/${name}` });
    const agent = await startAgent({
      config: {
        alerts: {
          evaluation_interval: "200ms",
          group_wait: "0s",
          group_interval: "1s",
          receivers: [hook("default"), hook("pager"), hook("db")],
          route: {
            receiver: "default",
            routes: [
              { matchers: ["severity=critical"], receiver: "pager", continue: true },
              { matchers: ["team=db"], receiver: "db", group_by: ["alertname", "team"] },
            ],
          },
        },
      },
    });
    try {
      const raise = (name: string, severity: string, labels: Record<string, string>) => agent.api("/v1/alerts", { method: "POST", body: JSON.stringify({ name, severity, labels }) });
      expect((await raise("DbDown", "critical", { team: "db" })).status).toBe(201);
      expect((await raise("WebSlow", "warning", { team: "web" })).status).toBe(201);
      const names = (path: string) => got.filter((g) => g.path === path).flatMap((g) => g.body.alerts.map((a: Json) => a.labels.alertname));
      await waitFor(() => names("/pager").length > 0 && names("/db").length > 0 && names("/default").length > 0, { timeoutMs: 15_000, what: "a notification at each receiver" });
      expect([...new Set(names("/pager"))]).toEqual(["DbDown"]);
      expect([...new Set(names("/db"))]).toEqual(["DbDown"]);
      expect([...new Set(names("/default"))]).toEqual(["WebSlow"]);
      const db = got.find((g) => g.path === "/db")!.body;
      expect(db).toMatchObject({ version: "4", receiver: "db", groupLabels: { alertname: "DbDown", team: "db" } });
      expect(db.groupKey).toStartWith('{}/{team="db"}:');
    } finally {
      await agent.stop();
      receiver.stop(true);
    }
  }, 30_000);

  test("polis validate names the route and the receiver that is not declared", async () => {
    const bin = requireBinary();
    const dir = mkdtempSync(join(tmpdir(), "polis-route-"));
    const file = `${dir}/agent.yaml`;
    await Bun.write(file, JSON.stringify({ alerts: { receivers: [{ name: "ops", url: "http://127.0.0.1:9/x" }], route: { receiver: "ops", routes: [{ matchers: ["team=db"], receiver: "dba" }] } } }));
    const p = Bun.spawnSync([bin, "validate", file], { stdout: "pipe", stderr: "pipe" });
    const out = p.stdout.toString() + p.stderr.toString();
    expect(p.exitCode).not.toBe(0);
    expect(out).toContain("alerts.route.routes[0].receiver");
    expect(out).toContain('no receiver named "dba" (declared: ops)');
    rmSync(dir, { recursive: true, force: true });
  });
});
