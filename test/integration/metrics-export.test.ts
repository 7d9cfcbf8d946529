// Metrics on the compiled binary: /metrics (no auth) after balancer traffic passes promtool and carries the core series;
// OTLP push reaches a local receiver; a down OTLP endpoint does not hold the agent's exit.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { startAgent } from "../support/agent.ts";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { waitFor } from "../support/wait-for.ts";
import { freePort, startDemoAgent } from "./api-support.ts";

const PROMTOOL = "/usr/bin/promtool";

describe("metrics of a running agent", () => {
  test("GET /metrics needs no token and, after traffic through a balancer, passes promtool and has the core series", async () => {
    const port = await freePort();
    await using agent = await startDemoAgent({ balancerListen: `127.0.0.1:${port}` });
    // Bounded traffic: 60 requests, each with its own deadline.
    let ok = 0;
    await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      await r?.arrayBuffer();
      if (r?.status === 200) ok++;
      return ok >= 60;
    }, { what: "60 proxied requests", timeoutMs: 15_000, intervalMs: 1 });

    const text = await waitFor(async () => {
      const res = await fetch(`${agent.url}/metrics`);
      expect(res.status).toBe(200);
      const t = await res.text();
      // Balancer stats arrive once a second; wait until the proxied requests are counted.
      return /^http_server_request_duration_seconds_bucket\{.*\} [1-9]/m.test(t) && t.includes("polis_health_check_results_total") ? t : undefined;
    }, { what: "balancer and health series in /metrics", timeoutMs: 15_000, intervalMs: 200 });
    expect(text).toMatch(/^polis_replicas_ready\{[^}]*app="demo"[^}]*\} 2$/m);
    // Counters present at 0 before anything happened, and the admin API's own requests by route pattern.
    expect(text).toMatch(/^polis_events_dropped_total(\{[^}]*\})? 0$/m);
    // (the test's own readiness polls came before this scrape, so some route has been counted)
    expect(text).toMatch(/^polis_api_requests_total\{[^}]*http_route="\/[^"]*"[^}]*http_response_status_code="\d{3}"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^# TYPE http_server_request_duration_seconds histogram$/m);

    if (!existsSync(PROMTOOL)) {
      console.warn(`skipping the promtool check: ${PROMTOOL} is missing (apt-get install prometheus)`);
      return;
    }
    const check = Bun.spawnSync([PROMTOOL, "check", "metrics"], { stdin: new TextEncoder().encode(text) });
    const report = check.stdout.toString() + check.stderr.toString();
    expect({ code: check.exitCode, report }).toEqual({ code: 0, report: "" });
  }, 60_000);

  test("an app removed by a reload takes its series with it (gauges and counters); the remaining app keeps its own", async () => {
    // Its own ports: above the demo app's (10000-31999) and below the ephemeral range (32768+).
    const base = 32_000 + Math.floor(Math.random() * 70) * 10;
    const extra = { name: "extra", command: "@self", args: ["demo-app"], replicas: 1, port: { range: [base, base + 9] }, readiness: { kind: "port", timeout: "10s" }, stop: { timeout: "3s" } };
    await using agent = await startDemoAgent({ replicas: { min: 1, max: 2 }, config: { apps: [extra] } });
    const scrape = async () => (await fetch(`${agent.url}/metrics`)).text();
    await waitFor(async () => /^polis_replicas_ready\{[^}]*app="extra"[^}]*\} 1$/m.test(await scrape()), { what: "extra's ready gauge at 1", timeoutMs: 20_000, intervalMs: 200 });
    const file = join(agent.dir, "agent.yaml");
    const doc = parse(readFileSync(file, "utf8")) as { apps: Array<{ name: string }> };
    doc.apps = doc.apps.filter((a) => a.name !== "extra");
    writeFileSync(file, stringify(doc));
    agent.proc.kill("SIGHUP");
    const text = await waitFor(async () => {
      const t = await scrape();
      return /app="extra"/.test(t) ? undefined : t;
    }, { what: "no series of the removed app", timeoutMs: 20_000, intervalMs: 200 });
    expect(text).toMatch(/^polis_replicas_ready\{[^}]*app="demo"[^}]*\} 1$/m);
  }, 60_000);

  test("with telemetry.otlp.endpoint set, metrics arrive at a local OTLP receiver", async () => {
    await using receiver = startOtlpReceiver();
    await using agent = await startDemoAgent({ replicas: { min: 1, max: 2 }, config: { telemetry: { otlp: { endpoint: receiver.url, interval: "1s" } } } });
    const names = await waitFor(() => {
      const all = new Set(receiver.requests.flatMap((r) => r.metrics.map((m) => m.name)));
      return all.has("polis.replicas.ready") && all.has("polis.health.check.results") ? all : undefined;
    }, { what: "replica and health metrics over OTLP", timeoutMs: 15_000, intervalMs: 100 });
    expect(names.size).toBeGreaterThan(2);
    expect(receiver.failures).toEqual([]);
    // Said once at start, with where and how often.
    expect(agent.lines.filter((l) => l.msg === "OTLP metrics push on").length).toBe(1);
    const ready = receiver.requests.flatMap((r) => r.metrics).filter((m) => m.name === "polis.replicas.ready").flatMap((m) => m.points);
    expect(ready.some((p) => p.attributes.app === "demo")).toBe(true);
    expect(receiver.requests[0]!.resource["service.name"]).toBe("polis");
    expect(await agent.stop()).toBe(0);
  }, 60_000);

  test("SIGTERM exits 0 even when the OTLP endpoint is down (the final export does not hold the exit)", async () => {
    const dead = await freePort();
    await using agent = await startAgent({ config: { telemetry: { otlp: { endpoint: `http://127.0.0.1:${dead}`, interval: "1h" } } } });
    expect(await agent.stop("SIGTERM")).toBe(0);
  }, 60_000);
});
