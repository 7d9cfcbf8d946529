// Policies on the compiled binary with real replicas: a policy fires its actions when a real condition starts to hold
// (traffic through the balancer), a dry_run policy records what it would do without doing it, a webhook action
// reaches a local receiver signed, and a bad policy file refuses the whole reload while the old set keeps running.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { freePort, getJson, type Json, startDemoAgent } from "./api-support.ts";

const SECRET = "policy-webhook-secret";

describe("policies on the compiled binary", () => {
  let agent: RunningAgent;
  let dir: string;
  let lbPort: number;
  let receiver: ReturnType<typeof Bun.serve>;
  const received: Array<{ body: Json; valid: boolean; key: string | null }> = [];

  const enforce = (url: string) => `
apiVersion: polis/v1
kind: Policy
metadata: {name: busy-scale-out, labels: {team: edge}}
spec:
  selector: {kinds: [app], matchLabels: {app: demo}}
  priority: 10
  rules:
    - name: traffic-seen
      when:
        all:
          - metric: {name: rps, of: app}
            op: ">"
            value: 0
          - cel: "app.ready >= 1 && !deployment.in_progress"
      actions:
        - {type: scale, to: 3, for: 5m}
        - {type: alert, severity: info, summary: "{{ .target.id }} rps {{ .value }}"}
        - {type: webhook, url: "${url}", secret_env: POLICY_HOOK_SECRET, body: {app: "{{ .app.name }}", rule: "{{ .rule }}"}}
`;
  const dryRun = `
apiVersion: polis/v1
kind: Policy
metadata: {name: would-restart}
spec:
  selector: {kinds: [replica]}
  mode: dry_run
  rules:
    - name: restart-on-traffic
      when: {metric: {name: rps, of: app}, op: ">", value: 0}
      actions: [{type: restart, target: replica}]
`;

  beforeAll(async () => {
    receiver = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const text = await req.text();
        received.push({ body: JSON.parse(text), valid: req.headers.get("x-polis-signature") === `sha256=${createHmac("sha256", SECRET).update(text).digest("hex")}`, key: req.headers.get("idempotency-key") });
        return new Response("ok");
      },
    });
    dir = mkdtempSync(join(tmpdir(), "polis-policies-"));
    writeFileSync(join(dir, "enforce.yaml"), enforce(`http://127.0.0.1:${receiver.port}/hook`));
    writeFileSync(join(dir, "dry.yaml"), dryRun);
    lbPort = await freePort();
    agent = await startDemoAgent({
      replicas: { min: 2, max: 4 },
      balancerListen: `127.0.0.1:${lbPort}`,
      env: { POLICY_HOOK_SECRET: SECRET },
      config: { policies: { dir, interval: "200ms" } },
    });
  }, 60_000);

  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
    receiver?.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  test("both files are installed, and nothing fires while the condition does not hold", async () => {
    const r = await getJson(agent, "/v1/policies");
    expect(r.policies.map((p: Json) => `${p.policy.namespace}/${p.policy.name}:${p.policy.mode}`).sort()).toEqual(["default/busy-scale-out:enforce", "default/would-restart:dry_run"]);
    await waitFor(async () => (await getJson(agent, "/v1/policies")).policies.every((p: Json) => p.lastEvaluation !== undefined), { timeoutMs: 10_000, what: "a first evaluation" });
    expect((await getJson(agent, "/v1/policies/audit")).records).toEqual([]);
  });

  test("traffic makes the policy fire: the app is scaled, an alert raised and a signed webhook sent, each in the audit", async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`http://127.0.0.1:${lbPort}/`)).status).toBeLessThan(500);
    const rec = await waitFor(
      async () => {
        const r = (await getJson(agent, "/v1/policies/audit?policy=default/busy-scale-out")).records as Json[];
        return r.find((x) => x.actions.every((a: Json) => a.outcome !== "pending"));
      },
      { timeoutMs: 20_000, what: "an audited firing with its outcomes" },
    );
    expect(rec.target).toBe("demo");
    expect(rec.firing).toBe(1);
    expect(rec.conditions.map((c: Json) => c.holds)).toEqual([true, true]);
    // The webhook goes out on the alerts' delivery path: queued in the audit, its delivery in the notifications.
    expect(rec.actions.map((a: Json) => `${a.type}:${a.outcome}`)).toEqual(["scale:done", "alert:done", "webhook:queued"]);
    await waitFor(async () => (await getJson(agent, "/v1/apps/demo")).replicas?.filter?.((r: Json) => r.state === "ready").length === 3 || (await getJson(agent, "/v1/services/default/demo")).endpoints?.length === 3, { timeoutMs: 20_000, what: "3 replicas of demo" });
    const alerts = (await getJson(agent, "/v1/alerts")).alerts as Json[];
    expect(alerts.some((a) => a.source === "policy" && String(a.annotations.summary).startsWith("demo rps "))).toBe(true);
    const sent = await waitFor(async () => ((await getJson(agent, "/v1/alerts/notifications")).notifications as Json[]).find((n) => String(n.receiver).startsWith("policy:default/busy-scale-out|traffic-seen#") && n.state === "delivered"), { timeoutMs: 20_000, what: "the webhook delivered" });
    expect(sent.attempts.length).toBe(1);
    expect(received.length).toBe(1);
    expect(received[0]!.valid).toBe(true);
    expect(received[0]!.body).toEqual({ app: "demo", rule: "traffic-seen" });
    expect(received[0]!.key).toBe("default/busy-scale-out/traffic-seen/demo/1");
  }, 60_000);

  test("the dry_run policy records what it would have done and restarts nothing", async () => {
    const recs = await waitFor(async () => {
      const r = (await getJson(agent, "/v1/policies/audit?policy=default/would-restart")).records as Json[];
      return r.length > 0 ? r : undefined;
    }, { timeoutMs: 20_000, what: "a dry-run firing" });
    expect(recs.every((x) => x.mode === "dry_run" && x.actions.every((a: Json) => a.type === "restart" && a.outcome === "dry_run"))).toBe(true);
    const replicas = ((await getJson(agent, "/v1/apps/demo")).replicas ?? []) as Json[];
    expect(replicas.every((r) => r.restarts === 0)).toBe(true);
  });

  test("a bad policy file refuses the whole reload with file, path and message; the old set keeps running", async () => {
    writeFileSync(join(dir, "zz-bad.yaml"), `
apiVersion: polis/v1
kind: Policy
metadata: {name: broken}
spec:
  rules:
    - name: r
      when: {cel: "replica.nope > 1"}
      actions: [{type: explode}]
`);
    // A good change in another file must not be installed either: the set is refused whole.
    writeFileSync(join(dir, "dry.yaml"), dryRun.replace("would-restart", "would-restart-renamed"));
    const res = await agent.api("/v1/reload", { method: "POST" });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Json;
    const problems = JSON.stringify(body);
    expect(problems).toContain("zz-bad.yaml: spec.rules[0].when.cel");
    expect(problems).toContain("zz-bad.yaml: spec.rules[0].actions[0].type");
    const names = ((await getJson(agent, "/v1/policies")).policies as Json[]).map((p) => p.policy.name).sort();
    expect(names).toEqual(["busy-scale-out", "would-restart"]);
    rmSync(join(dir, "zz-bad.yaml"));
    const ok = await agent.api("/v1/reload", { method: "POST" });
    expect(ok.status).toBe(200);
    expect(((await getJson(agent, "/v1/policies")).policies as Json[]).map((p) => p.policy.name).sort()).toEqual(["busy-scale-out", "would-restart-renamed"]);
  });

  test("the API validates a document with paths, creates a policy, what-ifs it and deletes it", async () => {
    const bad = await agent.api("/v1/policies/validate", { method: "POST", body: JSON.stringify({ documents: [{ apiVersion: "polis/v1", kind: "Policy", metadata: { name: "x" }, spec: { rules: [{ name: "r", when: { metric: { name: "nope" }, op: ">", value: 1 }, actions: [{ type: "run_task", task: "undeclared" }] }] } }] }) });
    const v = (await bad.json()) as Json;
    expect(v.valid).toBe(false);
    expect(v.problems.map((p: Json) => p.path)).toEqual(["spec.rules[0].when.metric.name", "spec.rules[0].actions[0].task"]);
    const doc = { apiVersion: "polis/v1", kind: "Policy", metadata: { name: "api-made" }, spec: { mode: "dry_run", rules: [{ name: "r", when: { metric: { name: "ready", of: "app" }, op: ">=", value: 1 }, actions: [{ type: "alert", summary: "up" }] }] } };
    const put = await agent.api("/v1/policies/default/api-made", { method: "PUT", body: JSON.stringify(doc) });
    expect(put.status).toBe(201);
    const what = await getJsonPost(agent, "/v1/policies/default/api-made/evaluate");
    expect(what.results.map((r: Json) => `${r.target}:${r.actions[0].disposition}`)).toEqual(["demo:dry_run"]);
    const fileOne = await agent.api("/v1/policies/default/busy-scale-out", { method: "DELETE" });
    expect(fileOne.status).toBe(409);
    expect((await agent.api("/v1/policies/default/api-made", { method: "DELETE" })).status).toBe(200);
    expect((await agent.api("/v1/policies/default/api-made")).status).toBe(404);
  });
});

async function getJsonPost(agent: RunningAgent, path: string): Promise<Json> {
  const r = await agent.api(path, { method: "POST", body: "{}" });
  return (await r.json()) as Json;
}
