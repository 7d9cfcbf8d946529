import { afterEach, describe, expect, test } from "bun:test";
import { createTelemetry, type CreateTelemetryOptions, type Telemetry } from "../../../src/telemetry/metrics.ts";
import { createFakeClock } from "../../support/fake-clock.ts";
import { find, parseExposition, value } from "./exposition.ts";
import { feedAll, hostSample, httpStats } from "./feed-all.ts";

const PROMTOOL = Bun.which("promtool");
const T0 = 1_700_000_000_000;
const started: Telemetry[] = [];

function make(over: Partial<CreateTelemetryOptions> = {}): Telemetry {
  const t = createTelemetry({
    serviceName: "polis",
    serviceVersion: "1.2.3",
    instanceId: "host-a",
    prometheus: true,
    env: {},
    hostSample,
    cpuCount: 2,
    ...over,
  });
  started.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.shutdown()));
});

describe("Prometheus exposition", () => {
  test.skipIf(!PROMTOOL)(
    `the exposition after every ingest kind passes promtool check metrics${PROMTOOL ? "" : " (SKIPPED: promtool not on PATH; apt-get install prometheus)"}`,
    async () => {
      const t = make();
      feedAll(t);
      const text = await t.prometheusText();
      const proc = Bun.spawn([PROMTOOL as string, "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      expect(`${out}${err}`.trim()).toBe("");
      expect(code).toBe(0);
    },
  );

  test("the balancer's pre-aggregated buckets become a cumulative seconds histogram", async () => {
    const t = make();
    feedAll(t);
    const s = parseExposition(await t.prometheusText());
    const ep = { balancer: "web", endpoint: "10.0.0.1:8080" };
    const bucket = (le: string) => value(s, "http_server_request_duration_seconds_bucket", { ...ep, le });
    expect([bucket("0.005"), bucket("0.01"), bucket("0.05"), bucket("0.1"), bucket("+Inf")]).toEqual([8, 14, 18, 20, 20]);
    expect(value(s, "http_server_request_duration_seconds_count", ep)).toBe(20);
    expect(value(s, "http_server_request_duration_seconds_sum", ep)).toBeCloseTo(0.3, 9);
  });

  test("balancer counters, responses by class, bytes by direction and active connections carry balancer and endpoint", async () => {
    const t = make();
    feedAll(t);
    const s = parseExposition(await t.prometheusText());
    const ep = { balancer: "web", endpoint: "10.0.0.1:8080" };
    expect(value(s, "polis_balancer_requests_total", ep)).toBe(20);
    expect(value(s, "polis_balancer_errors_total", ep)).toBe(2);
    expect(value(s, "polis_balancer_retries_total", ep)).toBe(4);
    expect(value(s, "polis_balancer_ejections_total", ep)).toBe(2);
    expect(value(s, "polis_balancer_picks_total", ep)).toBe(24);
    expect(value(s, "polis_balancer_responses_total", { ...ep, status_class: "2xx" })).toBe(14);
    expect(value(s, "polis_balancer_responses_total", { ...ep, status_class: "5xx" })).toBe(2);
    expect(value(s, "polis_balancer_bytes_total", { ...ep, direction: "in" })).toBe(2000);
    expect(value(s, "polis_balancer_bytes_total", { ...ep, direction: "out" })).toBe(10000);
    expect(value(s, "polis_balancer_active_connections", ep)).toBe(3);
  });

  test("a TCP endpoint gets a session histogram and no HTTP responses or HTTP histogram", async () => {
    const t = make();
    feedAll(t);
    const s = parseExposition(await t.prometheusText());
    const db = { balancer: "db", endpoint: "10.0.0.2:5432" };
    expect(value(s, "polis_balancer_session_duration_seconds_count", db)).toBe(10);
    expect(value(s, "polis_balancer_requests_total", db)).toBe(10);
    expect(find(s, "polis_balancer_responses_total", db)).toEqual([]);
    expect(find(s, "http_server_request_duration_seconds_count", db)).toEqual([]);
  });

  test("process, replica, restart, health, scaling, event and host metrics appear with their labels and values", async () => {
    const t = make();
    feedAll(t);
    const s = parseExposition(await t.prometheusText());
    expect(value(s, "process_cpu_utilization_ratio", { app: "api", replica: "api-1" })).toBe(0.25);
    expect(value(s, "process_memory_usage_bytes", { app: "api", replica: "api-1" })).toBe(123_456_789);
    expect(find(s, "process_memory_usage_bytes", { app: "polis", replica: "host-a" })).toHaveLength(1);
    expect(value(s, "polis_replicas_desired", { app: "api" })).toBe(3);
    expect(value(s, "polis_replicas_ready", { app: "api" })).toBe(2);
    expect(value(s, "polis_restarts_total", { app: "api", reason: "exit-failure" })).toBe(2);
    expect(value(s, "polis_restarts_total", { app: "api", reason: "watchdog-timeout" })).toBe(1);
    const chk = { check: "api-http", target: "api-1" };
    expect(value(s, "polis_health_check_results_total", { ...chk, status: "passing" })).toBe(1);
    expect(value(s, "polis_health_check_results_total", { ...chk, status: "critical" })).toBe(1);
    expect(value(s, "polis_health_check_results_total", { ...chk, status: "warning" })).toBe(0);
    expect(value(s, "polis_health_status", chk)).toBe(2);
    expect(value(s, "polis_health_check_duration_seconds_bucket", { ...chk, le: "0.005" })).toBe(1);
    expect(value(s, "polis_health_check_duration_seconds_bucket", { ...chk, le: "0.5" })).toBe(1);
    expect(value(s, "polis_health_check_duration_seconds_bucket", { ...chk, le: "1" })).toBe(2);
    expect(value(s, "polis_scaling_decisions_total", { app: "api", action: "scale_up" })).toBe(1);
    expect(value(s, "polis_scaling_desired_replicas", { app: "api" })).toBe(3);
    expect(value(s, "polis_events_total", { type: "proc.started" })).toBe(2);
    expect(value(s, "polis_events_dropped_total")).toBe(4);
    expect(value(s, "system_cpu_utilization_ratio")).toBe(0.25);
    expect(value(s, "system_memory_usage_bytes", { system_memory_state: "used" })).toBe(600);
    expect(value(s, "system_memory_utilization_ratio", { system_memory_state: "cached" })).toBe(0.1);
    expect(find(s, "target_info", { service_name: "polis", service_version: "1.2.3", service_instance_id: "host-a" })).toHaveLength(1);
  });

  test("with prometheus off the text is empty", async () => {
    const t = make({ prometheus: false });
    feedAll(t);
    expect(await t.prometheusText()).toBe("");
  });
});

describe("series of gone entities", () => {
  test("a forgotten replica's series disappear while its sibling's stay", async () => {
    const t = make();
    feedAll(t);
    expect(t.forget("replica", { app: "api", replica: "api-1" })).toBe(1);
    const s = parseExposition(await t.prometheusText());
    expect(find(s, "process_memory_usage_bytes", { replica: "api-1" })).toEqual([]);
    expect(find(s, "process_cpu_utilization_ratio", { replica: "api-1" })).toEqual([]);
    expect(find(s, "process_memory_usage_bytes", { replica: "api-2" })).toHaveLength(1);
  });

  test("forgetting an endpoint drops every balancer series of it, histogram included", async () => {
    const t = make();
    feedAll(t);
    t.forget("endpoint", "10.0.0.1:8080");
    const s = parseExposition(await t.prometheusText());
    expect(s.filter((x) => x.labels.endpoint === "10.0.0.1:8080")).toEqual([]);
    expect(find(s, "polis_balancer_requests_total", { endpoint: "10.0.0.2:5432" })).toHaveLength(1);
  });

  test("forgetting an app drops its replicas, restarts and scaling series", async () => {
    const t = make();
    feedAll(t);
    t.forget("app", "api");
    const s = parseExposition(await t.prometheusText());
    expect(s.filter((x) => x.labels.app === "api")).toEqual([]);
  });

  test("an endpoint that comes back after being forgotten starts its counters from zero", async () => {
    const t = make();
    t.proxyStats(httpStats("10.0.0.9:80"));
    t.forget("endpoint", "10.0.0.9:80");
    t.proxyStats(httpStats("10.0.0.9:80", { requests: 1 }));
    const s = parseExposition(await t.prometheusText());
    expect(value(s, "polis_balancer_requests_total", { endpoint: "10.0.0.9:80" })).toBe(1);
  });

  test("an entity silent for longer than expireAfterMs stops being exported; one still reporting stays", async () => {
    const clock = createFakeClock(T0);
    const t = make({ clock, expireAfterMs: 30_000 });
    t.procStats({ app: "api", replica: "gone", pid: 1, cpuPercent: 1, rssBytes: 1 });
    clock.advance(20_000);
    t.procStats({ app: "api", replica: "alive", pid: 2, cpuPercent: 1, rssBytes: 1 });
    clock.advance(20_000);
    const s = parseExposition(await t.prometheusText());
    expect(find(s, "process_memory_usage_bytes", { replica: "gone" })).toEqual([]);
    expect(find(s, "process_memory_usage_bytes", { replica: "alive" })).toHaveLength(1);
  });

  test("with expiry off a silent entity is kept until forgotten", async () => {
    const clock = createFakeClock(T0);
    const t = make({ clock, expireAfterMs: 0 });
    t.procStats({ app: "api", replica: "quiet", pid: 1, cpuPercent: 1, rssBytes: 1 });
    clock.advance(24 * 3600_000);
    const s = parseExposition(await t.prometheusText());
    expect(find(s, "process_memory_usage_bytes", { replica: "quiet" })).toHaveLength(1);
  });
});

describe("lifecycle", () => {
  test("shutdown is idempotent and calls after it are harmless", async () => {
    const t = make();
    feedAll(t);
    const first = t.shutdown();
    expect(t.shutdown()).toBe(first);
    await first;
    await t.shutdown();
    expect(() => feedAll(t)).not.toThrow();
    await t.forceFlush();
    expect(await t.prometheusText()).toBe("");
  });

  test("shutdown without any ingest or collect completes", async () => {
    const t = make({ hostSample: false });
    await t.shutdown();
  });
});

describe("replica series", () => {
  test("carry the revision the replica runs as a label when it is known", async () => {
    const t = make();
    t.procStats({ app: "web", replica: "web-1", revision: 3, pid: 10, cpuPercent: 5, rssBytes: 1000 });
    t.procStats({ app: "web", replica: "web-2", pid: 11, cpuPercent: 5, rssBytes: 1000 });
    const text = await t.prometheusText();
    const lines = text.split("\n").filter((l) => l.includes('replica="web-1"'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.includes('revision="3"'))).toBe(true);
    expect(text.split("\n").filter((l) => l.includes('replica="web-2"') && l.includes("revision="))).toEqual([]);
  });
});
