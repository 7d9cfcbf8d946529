import { describe, expect, test } from "bun:test";
import { createTelemetry } from "../../../src/telemetry/metrics.ts";
import { type OtlpMetric, type OtlpRequest, startOtlpReceiver } from "../../support/otlp-receiver.ts";
import { feedAll, hostSample } from "./feed-all.ts";

/** Long enough that only forceFlush() and shutdown() push during a test. */
const NEVER_MS = 3_600_000;

function metricNamed(req: OtlpRequest, name: string): OtlpMetric {
  const m = req.metrics.find((x) => x.name === name);
  if (!m) throw new Error(`no ${name} in ${req.metrics.map((x) => x.name).join(", ")}`);
  return m;
}

describe("OTLP/HTTP protobuf push", () => {
  test("forceFlush pushes every metric with the resource, the histogram's buckets in seconds and the env headers", async () => {
    await using receiver = startOtlpReceiver();
    const t = createTelemetry({
      serviceName: "",
      serviceVersion: "1.2.3",
      instanceId: "host-a",
      prometheus: false,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS: "x-tenant=blue,authorization=Bearer%20abc",
        OTEL_METRIC_EXPORT_INTERVAL: String(NEVER_MS),
        OTEL_SERVICE_NAME: "polis-edge",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test,service.name=ignored",
      },
      hostSample,
      cpuCount: 2,
    });
    try {
      expect(t.otlp).toEqual({ url: `${receiver.url}/v1/metrics`, intervalMs: NEVER_MS });
      feedAll(t);
      await t.forceFlush();
      expect(receiver.failures).toEqual([]);
      expect(receiver.requests.length).toBeGreaterThanOrEqual(1);
      const req = receiver.requests[receiver.requests.length - 1];

      expect(req.contentType).toBe("application/x-protobuf");
      expect(req.headers.get("x-tenant")).toBe("blue");
      expect(req.headers.get("authorization")).toBe("Bearer abc");
      expect(req.resource["service.name"]).toBe("polis-edge");
      expect(req.resource["service.version"]).toBe("1.2.3");
      expect(req.resource["service.instance.id"]).toBe("host-a");
      expect(req.resource["deployment.environment.name"]).toBe("test");

      const names = req.metrics.map((m) => m.name);
      for (const n of [
        "http.server.request.duration",
        "polis.balancer.requests",
        "polis.balancer.bytes",
        "polis.balancer.active_connections",
        "process.cpu.utilization",
        "process.memory.usage",
        "polis.replicas.desired",
        "polis.restarts",
        "polis.health.check.results",
        "polis.health.status",
        "polis.scaling.decisions",
        "polis.events",
        "polis.events.dropped",
        "system.cpu.utilization",
        "system.memory.usage",
      ]) {
        expect(names).toContain(n);
      }

      const hist = metricNamed(req, "http.server.request.duration");
      expect(hist.kind).toBe("histogram");
      expect(hist.unit).toBe("s");
      const point = hist.points.find((p) => p.attributes.endpoint === "10.0.0.1:8080");
      expect(point?.attributes.balancer).toBe("web");
      expect(point?.explicitBounds).toEqual([0.005, 0.01, 0.05, 0.1]);
      expect(point?.bucketCounts).toEqual([8, 6, 4, 2, 0]);
      expect(point?.count).toBe(20);
      expect(point?.sum).toBeCloseTo(0.3, 9);

      const requests = metricNamed(req, "polis.balancer.requests");
      expect(requests.kind).toBe("sum");
      expect(requests.points.find((p) => p.attributes.endpoint === "10.0.0.1:8080")?.value).toBe(20);
      const restarts = metricNamed(req, "polis.restarts");
      expect(restarts.points.find((p) => p.attributes.reason === "exit-failure")?.value).toBe(2);
    } finally {
      await t.shutdown();
    }
  });

  test("config endpoint and headers win over the env ones", async () => {
    await using receiver = startOtlpReceiver();
    const t = createTelemetry({
      serviceName: "polis",
      serviceVersion: "1",
      instanceId: "h",
      prometheus: false,
      otlp: { endpoint: receiver.url, intervalMs: NEVER_MS, headers: { "x-tenant": "from-config" } },
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9/", OTEL_EXPORTER_OTLP_HEADERS: "x-tenant=from-env,x-extra=env" },
      hostSample: false,
    });
    try {
      t.event("x");
      await t.forceFlush();
      const req = receiver.requests[receiver.requests.length - 1];
      expect(req.headers.get("x-tenant")).toBe("from-config");
      expect(req.headers.get("x-extra")).toBe("env");
      expect(req.resource["service.name"]).toBe("polis");
    } finally {
      await t.shutdown();
    }
  });

  test("shutdown pushes a last export once, and a second shutdown pushes nothing more", async () => {
    await using receiver = startOtlpReceiver();
    const t = createTelemetry({
      serviceName: "polis",
      serviceVersion: "1",
      instanceId: "h",
      prometheus: true,
      otlp: { endpoint: receiver.url, intervalMs: NEVER_MS, headers: {} },
      env: {},
      hostSample: false,
    });
    t.event("x");
    await t.shutdown();
    const after = receiver.requests.length;
    expect(after).toBe(1);
    await t.shutdown();
    await t.forceFlush();
    expect(receiver.requests.length).toBe(after);
  });

  test("a forgotten replica is absent from the next push", async () => {
    await using receiver = startOtlpReceiver();
    const t = createTelemetry({
      serviceName: "polis",
      serviceVersion: "1",
      instanceId: "h",
      prometheus: false,
      otlp: { endpoint: receiver.url, intervalMs: NEVER_MS, headers: {} },
      env: {},
      hostSample: false,
    });
    try {
      t.procStats({ app: "api", replica: "api-1", pid: 1, cpuPercent: 1, rssBytes: 10 });
      await t.forceFlush();
      t.forget("replica", "api-1");
      await t.forceFlush();
      const [first, second] = receiver.requests.slice(-2).map((r) => metricNamed(r, "process.memory.usage").points);
      expect(first.some((p) => p.attributes.replica === "api-1")).toBe(true);
      expect(second.some((p) => p.attributes.replica === "api-1")).toBe(false);
    } finally {
      await t.shutdown();
    }
  });
});
