// The routing tree as Alertmanager walks it: first matching child wins unless it says continue, an alert no child
// takes stays with its parent, options inherit down the tree; and the groups and notifications it leads to.
import { describe, expect, test } from "bun:test";
import { createEngineState, decide } from "../../../../src/core/alerts/engine.ts";
import { parseMatcher } from "../../../../src/core/alerts/matchers.ts";
import { compileRoutes, matchTree, type RouteSpec } from "../../../../src/core/alerts/routing.ts";
import type { AlertInput, Notification } from "../../../../src/core/alerts/types.ts";

const node = (over: Partial<RouteSpec> & { match?: string[] } = {}): RouteSpec => ({ matchers: (over.match ?? []).map(parseMatcher), continue: false, routes: [], ...over });
const defaults = { groupBy: ["alertname"], groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 14_400_000 };

// root: default
//   severity=critical -> pager (continue)
//   team=db           -> db
//     env=staging     -> db-staging (group_by: [alertname, env], group_wait: 1s)
//   team=web          -> web
//   team=~web|api     -> api (never reached by team=web: the sibling before took it)
const tree = node({
  receiver: "default",
  routes: [
    node({ match: ["severity=critical"], receiver: "pager", continue: true, repeatIntervalMs: 3_600_000 }),
    node({ match: ["team=db"], receiver: "db", routes: [node({ match: ["env=staging"], receiver: "db-staging", groupBy: ["alertname", "env"], groupWaitMs: 1000 })] }),
    node({ match: ["team=web"], receiver: "web" }),
    node({ match: ["team=~web|api"], receiver: "api" }),
  ],
});
const compiled = compileRoutes(tree, defaults, (r) => r !== "pager");
const receivers = (labels: Record<string, string>) => matchTree(compiled.tree, labels).map((i) => compiled.routes[i]!.receiver);

describe("alert routing tree", () => {
  test.each([
    [{ alertname: "X" }, ["default"]],
    [{ alertname: "X", team: "db" }, ["db"]],
    [{ alertname: "X", team: "db", env: "staging" }, ["db-staging"]],
    [{ alertname: "X", team: "db", env: "prod" }, ["db"]],
    [{ alertname: "X", team: "web" }, ["web"]],
    [{ alertname: "X", team: "api" }, ["api"]],
    // A child took it (continue or not): the root does not keep it too, as in Alertmanager.
    [{ alertname: "X", severity: "critical" }, ["pager"]],
    [{ alertname: "X", severity: "critical", team: "db", env: "staging" }, ["pager", "db-staging"]],
    [{ alertname: "X", severity: "warning", team: "web" }, ["web"]],
  ])("labels %o go to %o", (labels, want) => {
    expect(receivers(labels)).toEqual(want);
  });

  test("without continue the first matching child ends the search (contrast: pager takes it alone)", () => {
    const noContinue = compileRoutes(node({ receiver: "default", routes: [node({ match: ["severity=critical"], receiver: "pager" }), node({ match: ["team=db"], receiver: "db" })] }), defaults, () => true);
    expect(matchTree(noContinue.tree, { severity: "critical", team: "db" }).map((i) => noContinue.routes[i]!.receiver)).toEqual(["pager"]);
  });

  test("options inherit from the parent; a node's own settings win; send_resolved is its receiver's", () => {
    const by = new Map(compiled.routes.map((r) => [r.receiver, r]));
    expect(by.get("default")).toMatchObject({ groupBy: ["alertname"], groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 14_400_000, sendResolved: true });
    expect(by.get("pager")).toMatchObject({ groupBy: ["alertname"], groupWaitMs: 30_000, repeatIntervalMs: 3_600_000, sendResolved: false });
    expect(by.get("db-staging")).toMatchObject({ groupBy: ["alertname", "env"], groupWaitMs: 1000, groupIntervalMs: 300_000 });
    // A child naming no receiver keeps its parent's.
    const inherit = compileRoutes(node({ receiver: "default", routes: [node({ match: ["team=db"], groupWaitMs: 5 })] }), defaults, () => true);
    expect(inherit.routes[1]).toMatchObject({ receiver: "default", groupWaitMs: 5 });
  });

  test("route keys are the matcher path from the root, with the sibling index when siblings share matchers", () => {
    expect(compiled.routes.map((r) => r.key)).toEqual(["{}", '{}/{severity="critical"}', '{}/{team="db"}', '{}/{team="db"}/{env="staging"}', '{}/{team="web"}', '{}/{team=~"web|api"}']);
    const twins = compileRoutes(node({ receiver: "a", routes: [node({ match: ["x=1"], receiver: "b", continue: true }), node({ match: ["x=1"], receiver: "c" })] }), defaults, () => true);
    expect(twins.routes.map((r) => r.key)).toEqual(["{}", '{}/{x="1"}/0', '{}/{x="1"}/1']);
  });

  test("each node groups and times its own notifications: pager and the leaf both get a critical staging alert", () => {
    const s = createEngineState({ routes: compiled.routes, tree: compiled.tree, inhibit: [], keepResolved: 100 });
    const input = (labels: Record<string, string>): AlertInput => ({ name: "DiskFull", severity: "critical", labels, annotations: {}, source: "api" });
    decide(s, { type: "raise", input: input({ team: "db", env: "staging", host: "a" }) }, 0);
    decide(s, { type: "raise", input: input({ team: "db", env: "staging", host: "b" }) }, 10);
    const sent = (now: number) => decide(s, { type: "tick" }, now).actions.flatMap((a) => (a.kind === "notify" ? [a.notification as Notification] : []));
    // db-staging waits 1s, pager the inherited 30s.
    const first = sent(1000);
    expect(first.map((n) => [n.receiver, n.groupKey, n.alerts.length])).toEqual([["db-staging", '{}/{team="db"}/{env="staging"}:[["alertname","DiskFull"],["env","staging"]]', 2]]);
    expect(sent(29_999)).toEqual([]);
    const second = sent(30_000);
    expect(second.map((n) => [n.receiver, n.groupKey, n.alerts.length])).toEqual([["pager", '{}/{severity="critical"}:[["alertname","DiskFull"]]', 2]]);
  });
});
