// Which nodes may take a slot of an app: the static filters (alive, defines the app, label constraints) and the
// capacity ones (max_per_node, free ports, cores, memory). Each failure has a named filter, counted per app so an
// unplaceable slot says why ("3 nodes: constraint role eq edge; 1 node: max_per_node 2 reached").
import type { Constraint, PlacementApp, PlacementNode } from "./types.ts";

export const Filter = {
  NOT_ALIVE: "not alive",
  LEAVING: "leaving",
  APP_UNDEFINED: "app not in its config",
  NO_FREE_PORT: "no free port",
  CPU: "cores exhausted",
  MEMORY: "memory exhausted",
} as const;

export const describeConstraint = (c: Constraint) =>
  c.op === "exists" ? `constraint ${c.label} exists` : c.op === "in" ? `constraint ${c.label} in [${(c.values ?? []).join(",")}]` : `constraint ${c.label} ${c.op} ${c.value ?? ""}`;

export function matches(c: Constraint, labels: Readonly<Record<string, string>>): boolean {
  const v = Object.hasOwn(labels, c.label) ? labels[c.label] : undefined;
  switch (c.op) {
    case "exists":
      return v !== undefined;
    case "eq":
      return v === c.value;
    case "neq":
      // Nomad's "!=": a node without the label is not equal to the value.
      return v !== c.value;
    case "in":
      return v !== undefined && (c.values ?? []).includes(v);
  }
}

/** The first static filter the node fails for the app, or undefined when it may run the app at all. */
export function staticFilter(app: PlacementApp, n: PlacementNode): string | undefined {
  if (n.state !== "alive") return Filter.NOT_ALIVE;
  if (n.left) return Filter.LEAVING;
  if (n.apps !== undefined && !n.apps.includes(app.name)) return Filter.APP_UNDEFINED;
  for (const c of app.constraints) if (!matches(c, n.labels)) return describeConstraint(c);
  return undefined;
}

/** What the pass has handed out on a node so far (across every app). */
export interface NodeUse {
  cpu: number;
  memory: number;
  ports: number;
}

/** The capacity filter the node fails for one more slot of the app (holding `count` of its slots), or undefined. */
export function capacityFilter(app: PlacementApp, n: PlacementNode, use: NodeUse, count: number): string | undefined {
  if (app.maxPerNode !== undefined && count >= app.maxPerNode) return `max_per_node ${app.maxPerNode} reached`;
  if (app.ports && use.ports >= n.freePorts) return Filter.NO_FREE_PORT;
  if (app.cpu > 0 && use.cpu + app.cpu > n.cores + 1e-9) return Filter.CPU;
  if (app.memoryBytes > 0 && use.memory + app.memoryBytes > n.memoryBytes) return Filter.MEMORY;
  return undefined;
}

/** "2 nodes: constraint role eq edge; 1 node: max_per_node reached" (largest count first). */
export function describeFiltered(filtered: Readonly<Record<string, number>>, eligible: number): string {
  const parts = Object.entries(filtered)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([f, k]) => `${k} node${k === 1 ? "" : "s"}: ${f}`);
  if (parts.length === 0) return eligible === 0 ? "no node in the cluster" : "no node could take it";
  return `no node can take it (${parts.join("; ")})`;
}
