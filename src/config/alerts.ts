// Maps the `alerts:` section to the engine's rules (routes from receivers or from the routing tree, inhibition
// rules), and checks what the schema alone cannot (receivers a route names exist, the root takes every alert). The
// matchers were checked while decoding, so parsing them here cannot fail.
import { parseMatcher } from "../core/alerts/matchers.ts";
import { compileRoutes, type RouteSpec } from "../core/alerts/routing.ts";
import type { AlertRules, Route } from "../core/alerts/types.ts";
import type { AlertsConfig, RouteConfig } from "./alerts-schema.ts";

const specOf = (r: RouteConfig): RouteSpec => ({
  ...(r.receiver !== undefined ? { receiver: r.receiver } : {}),
  matchers: r.matchers.map(parseMatcher),
  continue: r.continue,
  ...(r.group_by !== undefined ? { groupBy: r.group_by } : {}),
  ...(r.group_wait !== undefined ? { groupWaitMs: r.group_wait } : {}),
  ...(r.group_interval !== undefined ? { groupIntervalMs: r.group_interval } : {}),
  ...(r.repeat_interval !== undefined ? { repeatIntervalMs: r.repeat_interval } : {}),
  routes: r.routes.map(specOf),
});

export function toAlertRules(a: AlertsConfig): AlertRules {
  const inhibit = a.inhibit_rules.map((r) => ({ source: r.source_matchers.map(parseMatcher), target: r.target_matchers.map(parseMatcher), equal: r.equal }));
  if (a.route) {
    const sendResolved = (name: string) => a.receivers.find((r) => r.name === name)?.send_resolved ?? true;
    const { routes, tree } = compileRoutes(specOf(a.route), { groupBy: a.group_by, groupWaitMs: a.group_wait, groupIntervalMs: a.group_interval, repeatIntervalMs: a.repeat_interval }, sendResolved);
    return { routes, tree, inhibit, keepResolved: a.keep_resolved };
  }
  const routes: Route[] = a.receivers.map((r) => ({
    receiver: r.name,
    matchers: [...r.matchers.map(parseMatcher), ...(r.severities.length > 0 ? [{ name: "severity", op: "=~" as const, value: r.severities.join("|") }] : [])],
    groupBy: r.group_by ?? a.group_by,
    groupWaitMs: r.group_wait ?? a.group_wait,
    groupIntervalMs: r.group_interval ?? a.group_interval,
    repeatIntervalMs: r.repeat_interval ?? a.repeat_interval,
    sendResolved: r.send_resolved,
  }));
  return { routes, inhibit, keepResolved: a.keep_resolved };
}

type Problem = { path: string; message: string; value?: string };

/** Cross-field rules of `alerts.route`: the root names a receiver and takes every alert; every receiver named is
 * declared; with a tree, receivers hold no routing or grouping of their own (one place decides where alerts go). */
export function alertRouteRules(a: AlertsConfig | undefined): Problem[] {
  const out: Problem[] = [];
  if (!a?.route) return out;
  const names = a.receivers.map((r) => r.name);
  const known = names.length > 0 ? `declared: ${names.join(", ")}` : "alerts.receivers is empty";
  const root = a.route;
  if (root.receiver === undefined) out.push({ path: "alerts.route.receiver", message: "the root route must name a receiver: alerts that no child route takes go to it" });
  if (root.matchers.length > 0) out.push({ path: "alerts.route.matchers", message: "the root route takes every alert, so it has no matchers: put them on a child route (alerts.route.routes)", value: JSON.stringify(root.matchers) });
  if (root.continue) out.push({ path: "alerts.route.continue", message: "the root route has no siblings: continue applies to child routes only", value: "true" });
  const walk = (r: RouteConfig, at: string) => {
    if (r.receiver !== undefined && !names.includes(r.receiver)) out.push({ path: `${at}.receiver`, message: `no receiver named "${r.receiver}" (${known})`, value: JSON.stringify(r.receiver) });
    r.routes.forEach((c, i) => walk(c, `${at}.routes[${i}]`));
  };
  walk(root, "alerts.route");
  a.receivers.forEach((r, i) => {
    const own: Array<[string, unknown]> = [
      ["matchers", r.matchers.length > 0 ? r.matchers : undefined],
      ["severities", r.severities.length > 0 ? r.severities : undefined],
      ["group_by", r.group_by],
      ["group_wait", r.group_wait],
      ["group_interval", r.group_interval],
      ["repeat_interval", r.repeat_interval],
    ];
    for (const [field, v] of own) {
      if (v === undefined) continue;
      out.push({ path: `alerts.receivers[${i}].${field}`, message: `with alerts.route set, the routing tree decides which alerts a receiver gets and how they are grouped: move ${field} to the route that names "${r.name}"${field === "severities" ? " (as a matcher: severity=~critical|warning)" : ""}`, value: JSON.stringify(v) });
    }
  });
  return out;
}
