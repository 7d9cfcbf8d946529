// An app's `placement:` block (where its replicas run: this node, or slots the cluster leader places across nodes):
// its cross-field rules and its mapping onto the scheduler's app (src/core/placement). The block's schema is in
// placement-schema.ts.
import type { PlacementApp } from "../core/placement/types.ts";
import type { ConfigProblem } from "./problems.ts";
import type { AppConfig } from "./schema.ts";

export const isClusterApp = (app: Pick<AppConfig, "placement">) => app.placement.scope === "cluster";

/** The cluster-wide slot count: placement.replicas (min of {min, max}: cluster-level scaling is not done yet), else the app's own fixed count. */
export function clusterReplicas(app: AppConfig): number {
  const r = app.placement.replicas;
  if (r !== undefined) return typeof r === "number" ? r : r.min;
  return typeof app.replicas === "number" ? app.replicas : 1;
}

export function placementRules(app: AppConfig, at: string, hasCluster: boolean): ConfigProblem[] {
  const p = app.placement;
  const out: ConfigProblem[] = [];
  const here = `${at}.placement`;
  if (p.scope === "node") {
    // Fields that only the leader reads would be silently ignored on a node-scoped app.
    for (const k of ["replicas", "max_per_node"] as const) if (p[k] !== undefined) out.push({ path: `${here}.${k}`, message: "applies with placement.scope: cluster only" });
    if (p.constraints.length > 0) out.push({ path: `${here}.constraints`, message: "applies with placement.scope: cluster only" });
    return out;
  }
  if (!hasCluster) out.push({ path: `${here}.scope`, message: "scope cluster needs a cluster: section (etcd and this node)", value: '"cluster"' });
  if (p.replicas === undefined && typeof app.replicas !== "number") out.push({ path: `${here}.replicas`, message: "a cluster app needs its cluster-wide count here (the app's replicas is not a fixed number)", value: JSON.stringify(app.replicas) });
  if (typeof p.replicas === "object" && p.replicas.min > p.replicas.max) out.push({ path: `${here}.replicas.min`, message: `must not exceed placement.replicas.max (${p.replicas.max})`, value: String(p.replicas.min) });
  if (app.scaling) out.push({ path: `${at}.scaling`, message: "a cluster app is sized by the cluster leader (placement.replicas); per-node autoscaling would fight its slot count" });
  if (app.replicas !== 1 && typeof app.replicas === "number" && p.replicas !== undefined) out.push({ path: `${at}.replicas`, message: "a cluster app's count is placement.replicas; leave replicas out", value: String(app.replicas) });
  if (p.reschedule.delay > p.reschedule.max_delay) out.push({ path: `${here}.reschedule.delay`, message: `must not exceed reschedule.max_delay (${p.reschedule.max_delay} ms)`, value: String(p.reschedule.delay) });
  p.constraints.forEach((c, j) => {
    const cat = `${here}.constraints[${j}]`;
    if ((c.op === "eq" || c.op === "neq") && c.value === undefined) out.push({ path: `${cat}.value`, message: `op ${c.op} needs a value` });
    if ((c.op === "eq" || c.op === "neq" || c.op === "exists") && c.values !== undefined) out.push({ path: `${cat}.values`, message: `op ${c.op} takes value, not values` });
    if (c.op === "in" && (c.values === undefined || c.values.length === 0)) out.push({ path: `${cat}.values`, message: "op in needs a non-empty list of values" });
    if ((c.op === "in" || c.op === "exists") && c.value !== undefined) out.push({ path: `${cat}.value`, message: `op ${c.op} takes ${c.op === "in" ? "values" : "no value"}`, value: JSON.stringify(c.value) });
  });
  return out;
}

/** The scheduler's view of a cluster app. */
export function toPlacementApp(app: AppConfig): PlacementApp {
  const p = app.placement;
  return {
    name: app.name,
    replicas: clusterReplicas(app),
    spread: p.spread,
    constraints: p.constraints.map((c) => ({ label: c.label, op: c.op, ...(c.value !== undefined ? { value: c.value } : {}), ...(c.values !== undefined ? { values: c.values } : {}) })),
    ...(p.max_per_node !== undefined ? { maxPerNode: p.max_per_node } : {}),
    rescheduleDelayMs: p.reschedule.delay,
    rescheduleMaxDelayMs: p.reschedule.max_delay,
    ports: "range" in app.port,
    cpu: app.resources?.cpu ?? 0,
    memoryBytes: app.resources?.memory ?? 0,
  };
}
