// Bench: proxyStats ingest cost (100 endpoints), /metrics render (100 endpoints x 10 buckets), vs an SDK Histogram fed per observation.
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { createTelemetry } from "../../src/telemetry/metrics.ts";
import type { ProxyStats } from "../../src/telemetry/metrics.ts";

const N = 100;
const bounds = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000]; // 10 bounds, 11 buckets
const stats: ProxyStats[] = Array.from({ length: N }, (_, i) => ({
  balancer: `b${i % 4}`, endpoint: `10.0.${i >> 8}.${i & 255}:8080`, protocol: "http",
  requests: 1000, responses: { "1xx": 0, "2xx": 950, "3xx": 10, "4xx": 30, "5xx": 10 },
  errors: 3, retries: 5, ejections: 0, bytesIn: 1e5, bytesOut: 1e6, active: 12,
  latency: { bounds: [...bounds], counts: [100, 200, 300, 150, 100, 50, 50, 30, 10, 5, 5], sum: 20000, count: 1000 },
}));
const t = createTelemetry({ serviceName: "polis", serviceVersion: "1", instanceId: "h", prometheus: true, env: {}, hostSample: false });

function time(label: string, rounds: number, fn: () => void, per = 1) {
  for (let i = 0; i < Math.min(rounds, 200); i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) fn();
  const ms = (performance.now() - t0) / rounds;
  console.log(`${label}: ${(ms * 1000).toFixed(2)} µs per round${per > 1 ? `, ${((ms * 1000) / per).toFixed(3)} µs per item` : ""}`);
}
time("proxyStats x100 endpoints (one second of reports)", 5000, () => { for (const s of stats) t.proxyStats(s); }, N);

const renders: number[] = [];
let size = 0;
for (let i = 0; i < 220; i++) {
  const t0 = performance.now();
  const txt = await t.prometheusText();
  if (i >= 20) renders.push(performance.now() - t0);
  size = txt.length;
}
renders.sort((a, b) => a - b);
console.log(`prometheusText, 100 endpoints x 10 buckets: median ${renders[100].toFixed(2)} ms, p90 ${renders[180].toFixed(2)} ms, ${size} bytes, ${(await t.prometheusText()).split("\n").filter((l) => l && !l.startsWith("#")).length} samples`);
await t.shutdown();

// Alternative: SDK Histogram, one record() per observation (bucket midpoint), 1000 req/s per endpoint.
const reader = new PrometheusExporter({ preventServerStart: true });
const mp = new MeterProvider({ readers: [reader] });
const h = mp.getMeter("x").createHistogram("http.server.request.duration", { unit: "s", advice: { explicitBucketBoundaries: bounds.map((b) => b / 1000) } });
const attrs = stats.map((s) => ({ balancer: s.balancer, endpoint: s.endpoint }));
time("SDK Histogram.record per observation, 100 endpoints x 1000 obs", 20, () => {
  for (let e = 0; e < N; e++) {
    const c = stats[e].latency.counts; const a = attrs[e];
    for (let b = 0; b < c.length; b++) { const v = (b < bounds.length ? bounds[b] : 2000) / 1000; for (let k = 0; k < c[b]; k++) h.record(v, a); }
  }
}, N * 1000);
const counters = Array.from({ length: 9 }, (_, i) => mp.getMeter("x").createCounter(`c${i}`));
time("9 SDK Counter.add per endpoint, 100 endpoints", 2000, () => { for (let e = 0; e < N; e++) for (const c of counters) c.add(5, attrs[e]); }, N);
await mp.shutdown();
