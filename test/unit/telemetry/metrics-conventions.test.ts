// The exposition as Prometheus and OpenTelemetry tooling expect it: unit suffixes, semantic-convention labels,
// counters present at 0, restarts apart from planned stops, gone endpoints gone, and failed OTLP pushes counted.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { observeExporter } from "../../../src/telemetry/metrics-export.ts";
import { createTelemetry, type Telemetry } from "../../../src/telemetry/metrics.ts";
import { find, parseExposition, value } from "./exposition.ts";
import { feedAll, hostSample, httpStats } from "./feed-all.ts";

const PROMTOOL = "/usr/bin/promtool";

/** A port nothing listens on: bound, then released. */
function closedPort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

async function withTelemetry<T>(fn: (t: Telemetry) => Promise<T>, extra: Partial<Parameters<typeof createTelemetry>[0]> = {}): Promise<T> {
  const t = createTelemetry({ serviceName: "polis", serviceVersion: "1", instanceId: "h", prometheus: true, env: {}, hostSample, cpuCount: 2, ...extra });
  try {
    return await fn(t);
  } finally {
    await t.shutdown();
  }
}

describe("Prometheus naming", () => {
  const names: Array<[string, string]> = [
    ["a duration histogram in seconds", "http_server_request_duration_seconds_bucket"],
    ["a health check duration", "polis_health_check_duration_seconds_count"],
    ["a size in bytes", "process_memory_usage_bytes"],
    ["a utilization gauge", "process_cpu_utilization_ratio"],
    ["a host utilization gauge", "system_memory_utilization_ratio"],
    ["a byte counter (the name already says bytes)", "polis_balancer_bytes_total"],
    ["an annotated unit gets no suffix", "polis_health_status"],
    ["the admin API duration", "polis_api_request_duration_seconds_bucket"],
  ];
  test.each(names)("%s is exported as %s", async (_what, name) => {
    const s = await withTelemetry(async (t) => {
      feedAll(t);
      return parseExposition(await t.prometheusText());
    });
    expect(find(s, name).length).toBeGreaterThan(0);
  });

  test("no name carries a unit twice or a ratio suffix on a counter (contrast case)", async () => {
    const text = await withTelemetry(async (t) => {
      feedAll(t);
      return t.prometheusText();
    });
    expect(text).not.toMatch(/_bytes_bytes|_seconds_seconds|_ratio_total|^http_server_request_duration_bucket/m);
  });

  test("promtool check metrics reports nothing on the full exposition", async () => {
    if (!existsSync(PROMTOOL)) {
      if (process.env.CI === "true") throw new Error(`${PROMTOOL} is missing (apt-get install prometheus)`);
      console.warn(`skipping: ${PROMTOOL} is missing (apt-get install prometheus)`);
      return;
    }
    const text = await withTelemetry(async (t) => {
      feedAll(t);
      return t.prometheusText();
    });
    const check = Bun.spawnSync([PROMTOOL, "check", "metrics"], { stdin: new TextEncoder().encode(text), timeout: 30_000 });
    expect({ code: check.exitCode, report: check.stdout.toString() + check.stderr.toString() }).toEqual({ code: 0, report: "" });
  });
});

describe("labels and counters", () => {
  test("admin API requests carry the semantic-convention labels and the route pattern, never the raw path", async () => {
    const s = await withTelemetry(async (t) => {
      t.apiRequest("GET", "/v1/apps/:name", 200, "http", 0.002);
      t.apiRequest("GET", "/v1/apps/:name", 200, "http", 0.003);
      return parseExposition(await t.prometheusText());
    });
    const labels = { http_request_method: "GET", http_route: "/v1/apps/:name", http_response_status_code: "200", url_scheme: "http" };
    expect(value(s, "polis_api_requests_total", labels)).toBe(2);
    expect(value(s, "polis_api_request_duration_seconds_count", labels)).toBe(2);
  });

  test("balancer series carry the listener as server.address / server.port and url.scheme (HTTP) or network.transport (TCP)", async () => {
    const s = await withTelemetry(async (t) => {
      t.proxyStats({ ...httpStats("a:1"), listen: { address: "127.0.0.1", port: 8443 }, scheme: "https" });
      t.proxyStats({ ...httpStats("db:1"), balancer: "db", protocol: "tcp", listen: { address: "127.0.0.1", port: 5432 } });
      return parseExposition(await t.prometheusText());
    });
    expect(value(s, "http_server_request_duration_seconds_count", { balancer: "web", server_address: "127.0.0.1", server_port: "8443", url_scheme: "https" })).toBe(10);
    expect(value(s, "polis_balancer_requests_total", { balancer: "db", server_port: "5432", network_transport: "tcp" })).toBe(10);
    expect(find(s, "polis_balancer_requests_total", { balancer: "db" })[0]!.labels.url_scheme).toBeUndefined();
  });

  test("DNS queries count by type, rcode and transport; a type outside the known set is 'other'", async () => {
    const s = await withTelemetry(async (t) => {
      t.dnsQuery("SRV", "NOERROR", "udp");
      t.dnsQuery("TYPE65280", "NOERROR", "udp");
      return parseExposition(await t.prometheusText());
    });
    expect(value(s, "polis_dns_queries_total", { dns_question_type: "SRV", dns_response_code: "NOERROR", network_transport: "udp" })).toBe(1);
    expect(value(s, "polis_dns_queries_total", { dns_question_type: "other" })).toBe(1);
  });

  test("an app's restart and planned-stop counters are exported at 0 from its first report", async () => {
    const s = await withTelemetry(async (t) => {
      t.replicas("web", 2, 2);
      return parseExposition(await t.prometheusText());
    });
    expect(value(s, "polis_restarts_total", { app: "web", reason: "exit-failure" })).toBe(0);
    expect(value(s, "polis_planned_stops_total", { app: "web", reason: "rolling-restart" })).toBe(0);
  });

  test("the scaler's latest evaluation sets the desired gauge and exports the decision counters at 0 before any decision", async () => {
    const s = await withTelemetry(async (t) => {
      t.scalingEvaluated("web", 3);
      return parseExposition(await t.prometheusText());
    });
    expect(value(s, "polis_scaling_desired_replicas", { app: "web" })).toBe(3);
    expect(value(s, "polis_scaling_decisions_total", { app: "web", action: "scale-up" })).toBe(0);
    expect(value(s, "polis_scaling_decisions_total", { app: "web", action: "scale-down" })).toBe(0);
  });

  test("polis_events_dropped_total is exported at 0 before any drop", async () => {
    const s = await withTelemetry(async (t) => parseExposition(await t.prometheusText()));
    expect(value(s, "polis_events_dropped_total")).toBe(0);
  });

  test("planned stops are counted apart from restarts", async () => {
    const s = await withTelemetry(async (t) => {
      t.plannedStop("web", "rolling-restart");
      t.plannedStop("web", "scale-down");
      t.restart("web", "exit-failure");
      return parseExposition(await t.prometheusText());
    });
    expect(find(s, "polis_restarts_total", { app: "web" }).filter((x) => x.value > 0).map((x) => x.labels.reason)).toEqual(["exit-failure"]);
    expect(value(s, "polis_restarts_total", { app: "web", reason: "killed-by-signal" })).toBe(0);
    expect(value(s, "polis_planned_stops_total", { app: "web", reason: "rolling-restart" })).toBe(1);
    expect(value(s, "polis_planned_stops_total", { app: "web", reason: "scale-down" })).toBe(1);
  });

  test("an endpoint gone from its balancer's pool loses every series, gauges included; the others stay", async () => {
    const s = await withTelemetry(async (t) => {
      t.proxyStats(httpStats("a:1"));
      t.proxyStats(httpStats("b:1"));
      t.proxyStats({ ...httpStats("a:1"), balancer: "other" });
      expect(t.retainEndpoints("web", new Set(["b:1"]))).toBe(1);
      return parseExposition(await t.prometheusText());
    });
    expect(s.filter((x) => x.labels.balancer === "web" && x.labels.endpoint === "a:1")).toEqual([]);
    expect(find(s, "polis_balancer_active_connections", { balancer: "web", endpoint: "b:1" })).toHaveLength(1);
    expect(find(s, "polis_balancer_active_connections", { balancer: "other", endpoint: "a:1" })).toHaveLength(1);
  });
});

describe("OTLP push", () => {
  function failingExporter(): PushMetricExporter {
    return {
      export: (_m, cb) => cb({ code: 1, error: new Error("connect ECONNREFUSED 127.0.0.1:9") }),
      forceFlush: async () => {},
      shutdown: async () => {},
    };
  }

  test("every failed push is counted; reports of them are limited to one per interval, with the count since the last", () => {
    let now = 0;
    let counted = 0;
    const reports: Array<{ failures: number; error: string }> = [];
    const e = observeExporter(failingExporter(), { onFailure: () => counted++, report: (r) => reports.push(r), reportEveryMs: 60_000, now: () => now });
    const results: number[] = [];
    for (let i = 0; i < 5; i++) {
      e.export({} as never, (r) => results.push(r.code));
      now += 10_000;
    }
    now = 61_000;
    e.export({} as never, (r) => results.push(r.code));
    expect(counted).toBe(6);
    expect(results).toEqual([1, 1, 1, 1, 1, 1]);
    expect(reports).toEqual([
      { failures: 1, error: "connect ECONNREFUSED 127.0.0.1:9" },
      { failures: 5, error: "connect ECONNREFUSED 127.0.0.1:9" },
    ]);
  });

  test("a successful push is neither counted nor reported (contrast case)", () => {
    let counted = 0;
    const ok: PushMetricExporter = { export: (_m, cb) => cb({ code: 0 }), forceFlush: async () => {}, shutdown: async () => {} };
    const e = observeExporter(ok, { onFailure: () => counted++, report: () => counted++, reportEveryMs: 1, now: () => 0 });
    e.export({} as never, () => {});
    expect(counted).toBe(0);
  });

  test("with OTLP on, the agent logs once where it pushes, and a push to a closed port is counted and logged", async () => {
    const port = closedPort();
    const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
    const log = { info: (msg: string, fields?: Record<string, unknown>) => lines.push({ level: "info", msg, fields }), warn: (msg: string, fields?: Record<string, unknown>) => lines.push({ level: "warn", msg, fields }) };
    const s = await withTelemetry(
      async (t) => {
        await t.forceFlush().catch(() => {});
        return parseExposition(await t.prometheusText());
      },
      { otlp: { endpoint: `http://127.0.0.1:${port}`, intervalMs: 3_600_000, headers: {} }, log },
    );
    expect(lines.filter((l) => l.msg === "OTLP metrics push on")).toEqual([{ level: "info", msg: "OTLP metrics push on", fields: { endpoint: `http://127.0.0.1:${port}/v1/metrics`, intervalMs: 3_600_000 } }]);
    expect(value(s, "polis_telemetry_export_failures_total")).toBeGreaterThanOrEqual(1);
    expect(lines.some((l) => l.level === "warn" && l.msg === "OTLP metrics push failed")).toBe(true);
  }, 30_000);
});
