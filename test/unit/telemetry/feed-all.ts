// Shared test input: one call of every ingest kind with known values, and a fixed host sample.
import type { HostSample } from "../../../src/telemetry/metrics-host.ts";
import type { ProxyStats, Telemetry } from "../../../src/telemetry/metrics.ts";

export const FIXED_HOST: HostSample = { cpu: 0.25, memory: { total: 1000, used: 600, free: 300, cached: 100 } };

export const hostSample = async (): Promise<HostSample> => FIXED_HOST;

export function httpStats(endpoint: string, over: Partial<ProxyStats> = {}): ProxyStats {
  return {
    balancer: "web",
    endpoint,
    protocol: "http",
    requests: 10,
    responses: { "1xx": 0, "2xx": 7, "3xx": 1, "4xx": 1, "5xx": 1 },
    errors: 1,
    retries: 2,
    ejections: 1,
    bytesIn: 1000,
    bytesOut: 5000,
    active: 3,
    latency: { bounds: [5, 10, 50, 100], counts: [4, 3, 2, 1, 0], sum: 150, count: 10 },
    ...over,
  };
}

/** Feeds every ingest method once (the HTTP endpoint twice, so cumulative sums show). */
export function feedAll(t: Telemetry): void {
  t.proxyStats(httpStats("10.0.0.1:8080"));
  t.proxyStats(httpStats("10.0.0.1:8080"));
  t.proxyStats({
    ...httpStats("10.0.0.2:5432"),
    balancer: "db",
    protocol: "tcp",
    responses: { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 },
  });
  t.procStats({ app: "api", replica: "api-1", pid: 4242, cpuPercent: 50, rssBytes: 123_456_789 });
  t.procStats({ app: "api", replica: "api-2", pid: 4243, cpuPercent: 10, rssBytes: 100_000_000 });
  t.replicas("api", 3, 2);
  t.restart("api", "exit-failure");
  t.restart("api", "exit-failure");
  t.restart("api", "watchdog-timeout");
  t.plannedStop("api", "rolling-restart");
  t.apiRequest("GET", "/v1/apps/:name", 200, "http", 0.002);
  t.apiRequest("POST", "/v1/apps/:name/scale", 422, "http", 0.004);
  t.dnsQuery("SRV", "NOERROR", "udp");
  t.dnsQuery("A", "NXDOMAIN", "tcp");
  t.healthResult("api-http", "api-1", "passing", 3);
  t.healthResult("api-http", "api-1", "critical", 700);
  t.scalingDecision("api", "scale_up", 2, 3);
  t.event("proc.started");
  t.event("proc.started");
  t.event("health.changed");
  t.eventBusDrop(4);
}
