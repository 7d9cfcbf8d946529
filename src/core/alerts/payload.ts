// The body of a webhook notification: Alertmanager's webhook payload, version 4, so a receiver written for
// Alertmanager (PagerDuty bridges, chat relays, alertmanager-webhook-logger) accepts it unchanged.
import type { Alert, Notification } from "./types.ts";

/** What Alertmanager sends for "no end yet". */
const ZERO_TIME = "0001-01-01T00:00:00Z";

export interface WebhookAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookPayload {
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
  status: "firing" | "resolved";
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

function strings(o: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

/** Pairs every alert of the group has with the same value. */
function common(maps: ReadonlyArray<Record<string, string>>): Record<string, string> {
  if (maps.length === 0) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

export function webhookAlert(a: Alert, externalURL: string): WebhookAlert {
  const resolved = a.lifecycle === "resolved";
  return {
    status: resolved ? "resolved" : "firing",
    labels: { ...a.labels },
    annotations: strings(a.annotations),
    startsAt: new Date(a.startsAt).toISOString(),
    endsAt: resolved && a.resolvedAt !== undefined ? new Date(a.resolvedAt).toISOString() : ZERO_TIME,
    generatorURL: `${externalURL}/v1/alerts/${a.id}`,
    fingerprint: a.fingerprint,
  };
}

/** `maxAlerts` bounds the body (Alertmanager's max_alerts): the rest is counted in truncatedAlerts. */
export function webhookPayload(n: Notification, externalURL: string, maxAlerts = 0): WebhookPayload {
  const all = n.alerts.map((a) => webhookAlert(a, externalURL));
  const alerts = maxAlerts > 0 && all.length > maxAlerts ? all.slice(0, maxAlerts) : all;
  return {
    version: "4",
    groupKey: n.groupKey,
    truncatedAlerts: all.length - alerts.length,
    status: n.status,
    receiver: n.receiver,
    groupLabels: { ...n.groupLabels },
    commonLabels: common(all.map((a) => a.labels)),
    commonAnnotations: common(all.map((a) => a.annotations)),
    externalURL,
    alerts,
  };
}
