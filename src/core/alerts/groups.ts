// Notification grouping as Alertmanager does it: each route puts an alert in the group of its `group_by` label
// values; a new group waits group_wait before its first notification (so alerts of one incident go together), then
// is looked at every group_interval and notified when its content changed (alerts added or resolved), or again after
// repeat_interval while it still fires. Silenced, inhibited and resolved-before-notified alerts are never sent.
//
//   created --group_wait--> flush --group_interval--> flush ... --(nothing firing, nothing to tell)--> gone
import { routesOf } from "./routing.ts";
import type { Alert, AlertAction, AlertRules, Route } from "./types.ts";

export interface Group {
  readonly key: string;
  readonly route: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Fingerprints firing, unsuppressed, now. */
  readonly firing: Set<string>;
  /** Sent as firing in the last notification. */
  notified: Set<string>;
  /** Resolved after being notified: told once, at the next flush. */
  readonly resolved: Map<string, Alert>;
  changed: boolean;
  nextFlushAt: number;
  lastSentAt: number | null;
}

export interface Groups {
  readonly byKey: Map<string, Group>;
  /** Group keys of each fingerprint (routes never change for a label set until the rules do). */
  readonly ofAlert: Map<string, string[]>;
}

export function createGroups(): Groups {
  return { byKey: new Map(), ofAlert: new Map() };
}

function groupLabels(route: Route, labels: Readonly<Record<string, string>>): Record<string, string> {
  if (route.groupBy.includes("...")) return { ...labels };
  const out: Record<string, string> = {};
  for (const k of route.groupBy) if (labels[k] !== undefined) out[k] = labels[k]!;
  return out;
}

export function groupKeyOf(route: Route, labels: Readonly<Record<string, string>>): string {
  const g = groupLabels(route, labels);
  return `${route.key ?? route.receiver}:${JSON.stringify(Object.keys(g).sort().map((k) => [k, g[k]]))}`;
}

/** Whether an alert should be in its groups' firing sets. */
export function notifiable(a: Alert): boolean {
  return a.lifecycle !== "resolved" && a.silencedBy.length === 0 && a.inhibitedBy.length === 0;
}

/** Puts an alert (new, changed or resolved) where it belongs in every group its routes give it. */
export function placeAlert(groups: Groups, rules: Pick<AlertRules, "routes" | "tree">, a: Alert, now: number): void {
  const routes = rules.routes;
  let keys = groups.ofAlert.get(a.fingerprint);
  if (!keys) {
    keys = routesOf(routes, rules.tree, a.labels).map((i) => `${i}|${groupKeyOf(routes[i]!, a.labels)}`);
    groups.ofAlert.set(a.fingerprint, keys);
  }
  const wanted = notifiable(a);
  for (const key of keys) {
    let g = groups.byKey.get(key);
    if (!g) {
      if (!wanted) continue;
      const route = Number(key.slice(0, key.indexOf("|")));
      g = { key, route, labels: groupLabels(routes[route]!, a.labels), firing: new Set(), notified: new Set(), resolved: new Map(), changed: false, nextFlushAt: now + routes[route]!.groupWaitMs, lastSentAt: null };
      groups.byKey.set(key, g);
    }
    if (wanted) {
      if (!g.firing.has(a.fingerprint)) {
        g.firing.add(a.fingerprint);
        g.changed = true;
        g.resolved.delete(a.fingerprint);
      }
    } else if (g.firing.delete(a.fingerprint)) {
      // Only a real resolve of something the receiver was told about is worth telling; a silenced alert just leaves.
      if (a.lifecycle === "resolved" && g.notified.has(a.fingerprint)) {
        g.resolved.set(a.fingerprint, a);
        g.changed = true;
      } else if (g.notified.delete(a.fingerprint)) g.changed = g.changed || g.firing.size > 0;
    }
  }
  if (a.lifecycle === "resolved") groups.ofAlert.delete(a.fingerprint);
}

/** Groups due now: notify those that changed or must repeat; drop those with nothing left. */
export function flushGroups(groups: Groups, routes: readonly Route[], active: ReadonlyMap<string, Alert>, now: number, actions: AlertAction[]): void {
  for (const g of groups.byKey.values()) {
    if (g.nextFlushAt > now) continue;
    const route = routes[g.route]!;
    const firing: Alert[] = [];
    let unacked = false;
    for (const fp of g.firing) {
      const a = active.get(fp);
      if (!a) continue;
      firing.push(a);
      if (a.lifecycle === "firing") unacked = true;
    }
    const resolved = route.sendResolved ? [...g.resolved.values()] : [];
    const repeat = g.lastSentAt !== null && unacked && now - g.lastSentAt >= route.repeatIntervalMs;
    const tell = (g.changed && (firing.length > 0 || resolved.length > 0)) || repeat;
    if (tell) {
      actions.push({
        kind: "notify",
        notification: { receiver: route.receiver, groupKey: g.key.slice(g.key.indexOf("|") + 1), groupLabels: g.labels, status: firing.length > 0 ? "firing" : "resolved", alerts: [...firing, ...resolved], at: now },
      });
      g.lastSentAt = now;
      g.notified = new Set(g.firing);
    }
    g.resolved.clear();
    g.changed = false;
    if (g.firing.size === 0) groups.byKey.delete(g.key);
    else g.nextFlushAt = now + route.groupIntervalMs;
  }
}
