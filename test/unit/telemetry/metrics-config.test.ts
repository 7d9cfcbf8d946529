import { describe, expect, test } from "bun:test";
import { parseKeyValueList, resolveTelemetryConfig, type TelemetryOptions } from "../../../src/telemetry/metrics-config.ts";

const base: TelemetryOptions = { serviceName: "polis", serviceVersion: "1.0.0", instanceId: "h1", prometheus: true, env: {} };

describe("telemetry config resolution", () => {
  test("without config or env endpoint there is no OTLP push", () => {
    expect(resolveTelemetryConfig(base).otlp).toBeUndefined();
  });

  test.each([
    ["OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/metrics appended", { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, "http://c:4318/v1/metrics"],
    ["OTEL_EXPORTER_OTLP_ENDPOINT with a path keeps it before /v1/metrics", { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/otlp/" }, "http://c:4318/otlp/v1/metrics"],
    ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is used as is", { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://c:4318/custom" }, "http://c:4318/custom"],
    [
      "the metrics-specific endpoint wins over the generic one",
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:1", OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://b:2/m" },
      "http://b:2/m",
    ],
  ])("%s", (_name, env, url) => {
    expect(resolveTelemetryConfig({ ...base, env }).otlp?.url).toBe(url);
  });

  test("the config endpoint wins over env; a bare origin gets /v1/metrics, a path is kept", () => {
    const env = { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://env:1/x" };
    const otlp = (endpoint: string) => resolveTelemetryConfig({ ...base, env, otlp: { endpoint, intervalMs: 1000, headers: {} } }).otlp?.url;
    expect(otlp("http://cfg:4318")).toBe("http://cfg:4318/v1/metrics");
    expect(otlp("http://cfg:4318/api/v1/otlp/v1/metrics")).toBe("http://cfg:4318/api/v1/otlp/v1/metrics");
  });

  test("headers merge generic env < metrics env < config, per key", () => {
    const r = resolveTelemetryConfig({
      ...base,
      env: { OTEL_EXPORTER_OTLP_HEADERS: "a=1,b=1,c=1", OTEL_EXPORTER_OTLP_METRICS_HEADERS: "b=2,c=2" },
      otlp: { endpoint: "http://c:1", intervalMs: 1000, headers: { c: "3" } },
    });
    expect(r.otlp?.headers).toEqual({ a: "1", b: "2", c: "3" });
  });

  test("interval: config wins over OTEL_METRIC_EXPORT_INTERVAL, which wins over the 60 s default; timeout never exceeds it", () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:1", OTEL_METRIC_EXPORT_INTERVAL: "15000" };
    expect(resolveTelemetryConfig({ ...base, env }).otlp).toMatchObject({ intervalMs: 15000, timeoutMs: 15000 });
    expect(resolveTelemetryConfig({ ...base, env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:1" } }).otlp).toMatchObject({ intervalMs: 60000, timeoutMs: 30000 });
    const cfg = resolveTelemetryConfig({ ...base, env, otlp: { endpoint: "http://c:1", intervalMs: 5000, headers: {} } });
    expect(cfg.otlp).toMatchObject({ intervalMs: 5000, timeoutMs: 5000 });
  });

  test("OTEL_METRICS_EXPORTER=none turns an env-only endpoint off but not a configured one", () => {
    const env = { OTEL_METRICS_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:1" };
    expect(resolveTelemetryConfig({ ...base, env }).otlp).toBeUndefined();
    expect(resolveTelemetryConfig({ ...base, env, otlp: { endpoint: "http://d:2", intervalMs: 1000, headers: {} } }).otlp?.url).toBe("http://d:2/v1/metrics");
  });

  test("resource: OTEL_RESOURCE_ATTRIBUTES < OTEL_SERVICE_NAME < config; an empty config name defers to env", () => {
    const env = { OTEL_RESOURCE_ATTRIBUTES: "service.name=a,team=edge%20ops", OTEL_SERVICE_NAME: "b" };
    expect(resolveTelemetryConfig({ ...base, env }).resource).toEqual({
      "service.name": "polis",
      "service.version": "1.0.0",
      "service.instance.id": "h1",
      team: "edge ops",
    });
    expect(resolveTelemetryConfig({ ...base, serviceName: "", env }).resource["service.name"]).toBe("b");
    expect(resolveTelemetryConfig({ ...base, serviceName: "", env: { OTEL_RESOURCE_ATTRIBUTES: "service.name=a" } }).resource["service.name"]).toBe("a");
  });

  test("malformed key=value pairs are skipped, not fatal", () => {
    expect(parseKeyValueList("a=1,,=x,novalue,b = 2 ,c=%ZZ")).toEqual({ a: "1", b: "2", c: "%ZZ" });
  });
});
