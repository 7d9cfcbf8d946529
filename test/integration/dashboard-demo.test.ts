// The Grafana board against the demo: config/agent.yaml (only its addresses, ports and data dir moved so tests can run
// beside anything else), some traffic through the balancer, one DNS query and a few API calls; then every query on
// config/dashboards/polis.json must select at least one series in the agent's /metrics.
import { describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import packet from "dns-packet";
import { parse } from "yaml";
import { startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { parseExposition, type Sample } from "../unit/telemetry/exposition.ts";
import { freePort } from "./api-support.ts";

type Json = Record<string, any>;
const ROOT = new URL("../../", import.meta.url);
const board = JSON.parse(readFileSync(new URL("config/dashboards/polis.json", ROOT), "utf8")) as Json;

/** Each selector in a PromQL expression: the metric name and its fixed `label="value"` matchers (variables aside). */
function selectors(expr: string): Array<{ name: string; labels: Record<string, string> }> {
  const out: Array<{ name: string; labels: Record<string, string> }> = [];
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)) {
    const labels: Record<string, string> = {};
    for (const l of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"$]*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels });
  }
  return out;
}

async function dnsQuery(port: number, name: string, type: string): Promise<void> {
  const sock = createSocket("udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no DNS answer within 5 s")), 5000);
      sock.once("message", () => {
        clearTimeout(timer);
        resolve();
      });
      sock.send(packet.encode({ type: "query", id: 7, flags: packet.RECURSION_DESIRED, questions: [{ type, name }] } as never), port, "127.0.0.1");
    });
  } finally {
    sock.close();
  }
}

describe("the Grafana board on the demo", () => {
  test("every panel query selects data from a running demo agent", async () => {
    const demo = parse(readFileSync(new URL("config/agent.yaml", ROOT), "utf8")) as Json;
    const balancerPort = await freePort();
    const base = 10_000 + Math.floor(Math.random() * 220) * 100;
    delete demo.agent.data_dir;
    demo.api.listen = "127.0.0.1:0";
    demo.dns.listen = "127.0.0.1:0";
    demo.balancers[0].listen = `127.0.0.1:${balancerPort}`;
    demo.apps[0].port.range = [base, base + 99];
    await using agent = await startAgent({ config: demo });
    const dnsLine = await agent.waitForLine((l) => l.msg === "DNS listening", 10_000);
    const dnsPort = Number(String(dnsLine.udp).split(":").pop());

    // Bounded traffic: until 40 requests went through (each with its own deadline), at most 20 s.
    let ok = 0;
    await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${balancerPort}/`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      await r?.arrayBuffer();
      if (r?.status === 200) ok++;
      return ok >= 40;
    }, { what: "40 requests through the demo balancer", timeoutMs: 20_000, intervalMs: 1 });
    await dnsQuery(dnsPort, "demo.polis", "SRV");
    await agent.api("/v1/apps");

    const exprs = (board.panels as Json[]).flatMap((p) => ((p.targets ?? []) as Json[]).map((t) => ({ panel: p.title as string, expr: t.expr as string })));
    expect(exprs.length).toBeGreaterThan(10);
    const missing = (samples: Sample[]) =>
      exprs.flatMap(({ panel, expr }) =>
        selectors(expr)
          .filter((s) => !samples.some((x) => x.name === s.name && Object.entries(s.labels).every(([k, v]) => x.labels[k] === v)))
          .map((s) => `${panel}: ${s.name}${JSON.stringify(s.labels)}`),
      );
    // Balancer, health and process stats arrive on one-second cycles: wait until every selector has a series.
    let last: string[] = [];
    await waitFor(async () => {
      const text = await (await fetch(`${agent.url}/metrics`)).text();
      last = missing(parseExposition(text));
      return last.length === 0;
    }, { what: "every dashboard selector in /metrics", timeoutMs: 20_000, intervalMs: 250 }).catch(() => undefined);
    expect(last).toEqual([]);
  }, 90_000);

  test("the selector extractor keeps fixed matchers and drops variables (contrast case)", () => {
    expect(selectors('sum(rate(a_total{job=~"$job",status_class="5xx"}[5m])) / b{x="$y"}')).toEqual([
      { name: "a_total", labels: { status_class: "5xx" } },
      { name: "b", labels: {} },
    ]);
  });
});
