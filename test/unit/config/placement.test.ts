import { describe, expect, test } from "bun:test";
import { toClusterSpec } from "../../../src/config/cluster.ts";
import { decodeConfig } from "../../../src/config/decode.ts";
import { toPlacementApp } from "../../../src/config/placement.ts";

const cluster = { etcd: { endpoints: ["http://127.0.0.1:2379"] }, node: { advertise: "127.0.0.11", zone: "z1", labels: { role: "edge" } } };
const web = (placement: unknown, extra: Record<string, unknown> = {}) => ({ name: "web", command: "sleep", args: ["60"], ...(placement !== undefined ? { placement } : {}), ...extra });
const decode = (apps: unknown[], withCluster = true) => decodeConfig({ ...(withCluster ? { cluster } : {}), apps }, "test.yaml", { cores: 2 });
const problems = (apps: unknown[], withCluster = true) => {
  const r = decode(apps, withCluster);
  return r.ok ? [] : r.error.problems.map((p) => `${p.path}: ${p.message}${p.value !== undefined ? ` (${p.value})` : ""}`);
};

describe("apps[].placement", () => {
  test("defaults: scope node, spread zone, reschedule 5s up to 1m", () => {
    const r = decode([web(undefined)]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.apps[0]!.placement).toEqual({ scope: "node", spread: "zone", constraints: [], reschedule: { delay: 5000, max_delay: 60_000 } });
  });

  test("a cluster app maps onto the scheduler's app", () => {
    const r = decode([web({ scope: "cluster", replicas: 6, spread: "zone", constraints: [{ label: "role", op: "eq", value: "edge" }], max_per_node: 3, reschedule: { delay: "2s", max_delay: "30s" } }, { port: { range: [9100, 9110] }, resources: { cpu: 0.5, memory: "64MiB" } })]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(toPlacementApp(r.config.apps[0]!)).toEqual({
      name: "web",
      replicas: 6,
      spread: "zone",
      constraints: [{ label: "role", op: "eq", value: "edge" }],
      maxPerNode: 3,
      rescheduleDelayMs: 2000,
      rescheduleMaxDelayMs: 30_000,
      ports: true,
      cpu: 0.5,
      memoryBytes: 64 * 2 ** 20,
    });
  });

  test("without placement.replicas the app's own fixed count is the cluster count", () => {
    const r = decode([web({ scope: "cluster" }, { replicas: 4 })]);
    expect(r.ok && toPlacementApp(r.config.apps[0]!).replicas).toBe(4);
  });

  test("cluster.node.labels reach the cluster spec", () => {
    const r = decode([]);
    expect(r.ok && toClusterSpec(r.config.cluster!, undefined, "1").node.labels).toEqual({ role: "edge" });
  });

  test.each([
    [[web({ scope: "cluster", replicas: 2 })], false, 'apps[0].placement.scope: scope cluster needs a cluster: section (etcd and this node) ("cluster")'],
    [[web({ scope: "galaxy" })], true, 'apps[0].placement.scope: Expected "node" | "cluster" ("galaxy")'],
    [[web({ scope: "cluster", replicas: -1 })], true, "apps[0].placement.replicas: Expected a value between 0 and 10000 (-1)"],
    [[web({ scope: "cluster", replicas: { min: 4, max: 2 } })], true, "apps[0].placement.replicas.min: must not exceed placement.replicas.max (2) (4)"],
    [[web({ scope: "cluster" }, { replicas: { min: 1, max: 3 } })], true, 'apps[0].placement.replicas: a cluster app needs its cluster-wide count here (the app\'s replicas is not a fixed number) ({"min":1,"max":3})'],
    [[web({ scope: "cluster", replicas: 3, spread: "rack" })], true, 'apps[0].placement.spread: Expected "zone" | "node" | "none" ("rack")'],
    [[web({ scope: "cluster", replicas: 3, constraints: [{ label: "role", op: "eq" }] })], true, "apps[0].placement.constraints[0].value: op eq needs a value"],
    [[web({ scope: "cluster", replicas: 3, constraints: [{ label: "role", op: "in", values: [] }] })], true, "apps[0].placement.constraints[0].values: op in needs a non-empty list of values"],
    [[web({ scope: "cluster", replicas: 3, constraints: [{ label: "role", op: "exists", value: "x" }] })], true, 'apps[0].placement.constraints[0].value: op exists takes no value ("x")'],
    [[web({ scope: "cluster", replicas: 3, constraints: [{ label: "role", op: "like", value: "x" }] })], true, 'apps[0].placement.constraints[0].op: Expected "eq" | "neq" | "in" | "exists" ("like")'],
    [[web({ scope: "cluster", replicas: 3, max_per_node: 0 })], true, "apps[0].placement.max_per_node: Expected a value between 1 and 1000 (0)"],
    [[web({ scope: "cluster", replicas: 3, reschedule: { delay: "2m", max_delay: "1m" } })], true, "apps[0].placement.reschedule.delay: must not exceed reschedule.max_delay (60000 ms) (120000)"],
    [[web({ scope: "node", replicas: 3 })], true, "apps[0].placement.replicas: applies with placement.scope: cluster only"],
    [[web({ scope: "node", constraints: [{ label: "a", op: "exists" }] })], true, "apps[0].placement.constraints: applies with placement.scope: cluster only"],
    [[web({ scope: "cluster", replicas: 3 }, { replicas: 2 })], true, "apps[0].replicas: a cluster app's count is placement.replicas; leave replicas out (2)"],
  ] as const)("%o (cluster %p) -> %s", (apps, withCluster, message) => {
    expect(problems([...apps], withCluster)).toContain(message);
  });

  test("a cluster app with per-node autoscaling is refused", () => {
    const p = problems([web({ scope: "cluster", replicas: 3 }, { replicas: { min: 1, max: 3 }, scaling: { metrics: [{ name: "cpu", target: 50 }] } })]);
    expect(p).toContain("apps[0].scaling: a cluster app is sized by the cluster leader (placement.replicas); per-node autoscaling would fight its slot count");
  });

  test("a bad node label name is refused with its path", () => {
    const r = decodeConfig({ cluster: { ...cluster, node: { ...cluster.node, labels: { "-bad": "x" } } } }, "test.yaml");
    expect(r.ok ? [] : r.error.problems.map((p) => `${p.path}: ${p.message}`)).toContain("cluster.node.labels.-bad: expected a label name of letters, digits, '.', '_', '/' or '-' (1-63 characters)");
  });
});
