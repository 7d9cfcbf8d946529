import { describe, expect, test } from "bun:test";
import { createTelemetry } from "../../../src/telemetry/metrics.ts";
import { prometheusSeriesNames } from "../../../src/telemetry/metrics-names.ts";
import { parseExposition } from "./exposition.ts";
import { feedAll, hostSample } from "./feed-all.ts";

const DASHBOARD = new URL("../../../config/dashboards/polis.json", import.meta.url);

interface Target {
  expr: string;
  datasource?: { uid?: string };
}
interface Panel {
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
}

const load = async (): Promise<Dashboard> => JSON.parse(await Bun.file(DASHBOARD).text()) as Dashboard;

/** Metric names a PromQL expression selects: identifiers right before a matcher `{` or range `[`, or label_values' first argument. */
function metricNames(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const names = new Set<string>();
  for (const m of code.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{[]/g)) names.add(m[1]);
  for (const m of code.matchAll(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/g)) names.add(m[1]);
  return [...names];
}

function expressions(d: Dashboard): string[] {
  const fromPanels = d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const fromVars = d.templating.list.filter((v) => v.type === "query").map((v) => (typeof v.query === "string" ? v.query : v.query.query));
  return [...fromPanels, ...fromVars];
}

describe("Grafana dashboard", () => {
  test("parses as JSON and offers a Prometheus data source variable that every panel and query uses", async () => {
    const d = await load();
    const ds = d.templating.list.find((v) => v.type === "datasource");
    expect(ds?.query).toBe("prometheus");
    for (const p of d.panels.filter((x) => x.type !== "row")) {
      expect(p.datasource?.uid).toBe(`\${${ds?.name}}`);
      for (const t of p.targets ?? []) expect(t.datasource?.uid).toBe(`\${${ds?.name}}`);
    }
  });

  test("has the panels operators look for", async () => {
    const titles = (await load()).panels.map((p) => p.title);
    for (const t of [
      "Request rate",
      "Error rate",
      "Latency p50 / p95 / p99",
      "Replicas desired vs ready",
      "Restarts and planned stops",
      "Admin API requests",
      "Admin API latency p95",
      "DNS queries",
      "Health status",
      "Scaling decisions",
      "CPU per replica",
      "Memory per replica",
      "Event bus: published and dropped",
    ]) {
      expect(titles).toContain(t);
    }
  });

  test("every PromQL expression selects only metric names the exposition actually produces", async () => {
    const t = createTelemetry({ serviceName: "polis", serviceVersion: "1", instanceId: "h", prometheus: true, env: {}, hostSample, cpuCount: 2 });
    try {
      feedAll(t);
      const produced = new Set(parseExposition(await t.prometheusText()).map((s) => s.name));
      const declared = new Set(prometheusSeriesNames());
      for (const expr of expressions(await load())) {
        const names = metricNames(expr);
        expect(names.length, `no metric found in: ${expr}`).toBeGreaterThan(0);
        for (const n of names) {
          expect(produced.has(n), `${n} (in ${expr}) is not in the exposition`).toBe(true);
          expect(declared.has(n), `${n} is not listed in metrics-names.ts`).toBe(true);
        }
      }
    } finally {
      await t.shutdown();
    }
  });

  test("the name extractor ignores functions, label names and quoted values (contrast case)", () => {
    expect(metricNames('histogram_quantile(0.9, sum by (le) (rate(foo_bucket{a="x{y}"}[5m]))) / bar[1m]')).toEqual(["foo_bucket", "bar"]);
  });
});
