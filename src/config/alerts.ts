// Maps the `alerts:` section to the engine's rules (routes from receivers, inhibition rules); the matchers were
// checked while decoding, so parsing them here cannot fail.
import { parseMatcher } from "../core/alerts/matchers.ts";
import type { AlertRules, Route } from "../core/alerts/types.ts";
import type { AlertsConfig } from "./alerts-schema.ts";

export function toAlertRules(a: AlertsConfig): AlertRules {
  const routes: Route[] = a.receivers.map((r) => ({
    receiver: r.name,
    matchers: [...r.matchers.map(parseMatcher), ...(r.severities.length > 0 ? [{ name: "severity", op: "=~" as const, value: r.severities.join("|") }] : [])],
    groupBy: r.group_by ?? a.group_by,
    groupWaitMs: r.group_wait ?? a.group_wait,
    groupIntervalMs: r.group_interval ?? a.group_interval,
    repeatIntervalMs: r.repeat_interval ?? a.repeat_interval,
    sendResolved: r.send_resolved,
  }));
  return {
    routes,
    inhibit: a.inhibit_rules.map((r) => ({ source: r.source_matchers.map(parseMatcher), target: r.target_matchers.map(parseMatcher), equal: r.equal })),
    keepResolved: a.keep_resolved,
  };
}
