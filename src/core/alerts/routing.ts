// Alertmanager's routing tree: an alert enters the root, then tries the root's children in order; a child whose
// matchers hold takes it (and its own children try in turn), and the first child that takes it ends the search
// unless that child says `continue`. An alert no child takes stays with the node it reached. Every node that keeps
// an alert notifies that node's receiver, grouped by that node's group_by and timed by its group_wait,
// group_interval and repeat_interval; unset options come from the parent.
//
// Compiled once per rules change into the flat list of routes the groups use (one per node) and a tree of indices
// into it, so matching allocates only the result.
import { matchesAll } from "./matchers.ts";
import type { Matcher, Route, RouteTree } from "./types.ts";

/** A node as written (config mapped to plain data): what it sets itself. */
export interface RouteSpec {
  readonly receiver?: string;
  readonly matchers: readonly Matcher[];
  readonly continue: boolean;
  readonly groupBy?: readonly string[];
  readonly groupWaitMs?: number;
  readonly groupIntervalMs?: number;
  readonly repeatIntervalMs?: number;
  readonly routes: readonly RouteSpec[];
}

/** What the root inherits when it sets nothing (the `alerts:` section's own group_* settings). */
export interface RouteDefaults {
  readonly groupBy: readonly string[];
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
}

/**
 * Flattens a tree into routes (options inherited) and the index tree. `sendResolved(receiver)` is the receiver's
 * own setting. The root must name a receiver (the config checks it); a route key is the path of matcher sets from
 * the root, as Alertmanager writes it (`{}/{severity="critical"}`), with the sibling index when two siblings share
 * one, so each node's groups have their own key.
 */
export function compileRoutes(root: RouteSpec, defaults: RouteDefaults, sendResolved: (receiver: string) => boolean): { routes: Route[]; tree: RouteTree } {
  const routes: Route[] = [];
  const visit = (n: RouteSpec, parent: Omit<Route, "matchers" | "sendResolved" | "key"> & { key: string | null }, sibling: number, siblingKeyShared: boolean): RouteTree => {
    const receiver = n.receiver ?? parent.receiver;
    const own = setText(n.matchers);
    const key = `${parent.key === null ? "" : `${parent.key}/`}${own}${siblingKeyShared ? `/${sibling}` : ""}`;
    const route: Route = {
      receiver,
      matchers: n.matchers,
      groupBy: n.groupBy ?? parent.groupBy,
      groupWaitMs: n.groupWaitMs ?? parent.groupWaitMs,
      groupIntervalMs: n.groupIntervalMs ?? parent.groupIntervalMs,
      repeatIntervalMs: n.repeatIntervalMs ?? parent.repeatIntervalMs,
      sendResolved: sendResolved(receiver),
      key,
    };
    const index = routes.length;
    routes.push(route);
    const owns = n.routes.map((c) => setText(c.matchers));
    const children = n.routes.map((c, i) => visit(c, { ...route, key }, i, owns.indexOf(owns[i]!) !== owns.lastIndexOf(owns[i]!)));
    return { route: index, matchers: n.matchers, continue: n.continue, children };
  };
  const tree = visit(root, { receiver: root.receiver ?? "", ...defaults, key: null }, 0, false);
  return { routes, tree };
}

/** A matcher set as Alertmanager prints it in route keys: `{team="db",env=~"prod|staging"}`. */
const setText = (ms: readonly Matcher[]) => `{${ms.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(",")}}`;

/** Indices of the routes that keep an alert with these labels, in tree order (Alertmanager's Route.Match). */
export function matchTree(node: RouteTree, labels: Readonly<Record<string, string>>, out: number[] = []): number[] {
  if (!matchesAll(node.matchers, labels)) return out;
  const before = out.length;
  for (const child of node.children) {
    const had = out.length;
    matchTree(child, labels, out);
    if (out.length > had && !child.continue) break;
  }
  if (out.length === before) out.push(node.route);
  return out;
}

/** The routes an alert goes to: through the tree when there is one, else every route whose matchers hold. */
export function routesOf(routes: readonly Route[], tree: RouteTree | undefined, labels: Readonly<Record<string, string>>): number[] {
  if (tree) return matchTree(tree, labels);
  const out: number[] = [];
  for (let i = 0; i < routes.length; i++) if (matchesAll(routes[i]!.matchers, labels)) out.push(i);
  return out;
}
