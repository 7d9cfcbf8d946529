// The alert model (Alertmanager's labels, annotations and fingerprint; PagerDuty's ack/resolve lifecycle) and the
// shapes the alert engine takes and returns. Plain data: it is persisted as JSON and sent over the API as is.
export type AlertSeverity = "info" | "warning" | "critical";
export const SEVERITIES: readonly AlertSeverity[] = ["info", "warning", "critical"];

/** The lifecycle an operator drives; `silenced` is shown instead of firing/acknowledged while a silence matches. */
export type AlertLifecycle = "firing" | "acknowledged" | "resolved";
export type AlertState = AlertLifecycle | "silenced";

export interface AlertAnnotations {
  readonly summary?: string;
  readonly description?: string;
  readonly runbook_url?: string;
  readonly [k: string]: string | undefined;
}

/** What a source (or an API caller) raises. */
export interface AlertInput {
  readonly name: string;
  readonly severity: AlertSeverity;
  /** Identifying labels besides alertname and severity (which are added to them). */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: AlertAnnotations;
  /** Which source raised it: check_critical, crash_loop, ..., api, policy. */
  readonly source: string;
  readonly value?: number;
  /** Wall-clock ms after which an alert nobody raised again resolves itself (API alerts, as Alertmanager's endsAt). */
  readonly endsAt?: number;
}

export interface Alert {
  readonly id: string;
  readonly fingerprint: string;
  readonly name: string;
  readonly severity: AlertSeverity;
  /** Every label, alertname and severity included: what silences, routes and inhibition match on. */
  readonly labels: Readonly<Record<string, string>>;
  annotations: AlertAnnotations;
  readonly source: string;
  lifecycle: AlertLifecycle;
  readonly startsAt: number;
  lastSeenAt: number;
  occurrences: number;
  lastValue?: number;
  endsAt?: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  ackComment?: string;
  resolvedAt?: number;
  resolvedBy?: string;
  resolveComment?: string;
  /** Ids of the silences matching it now (empty: not silenced). */
  silencedBy: string[];
  /** Fingerprints of the firing alerts inhibiting it now. */
  inhibitedBy: string[];
}

export type MatchOp = "=" | "!=" | "=~" | "!~";
export interface Matcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
}

export interface Silence {
  readonly id: string;
  readonly matchers: readonly Matcher[];
  readonly startsAt: number;
  endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
  readonly createdAt: number;
}

export interface InhibitRule {
  readonly source: readonly Matcher[];
  readonly target: readonly Matcher[];
  /** Labels whose values must be equal on source and target. */
  readonly equal: readonly string[];
}

export interface Route {
  readonly receiver: string;
  readonly matchers: readonly Matcher[];
  /** Label names to group by; ["..."] groups by every label (one alert per notification). */
  readonly groupBy: readonly string[];
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  readonly sendResolved: boolean;
  /** The node's path in the routing tree (`{}/{severity="critical"}`): its groups' key. Flat routes have none. */
  readonly key?: string;
}

/** The routing tree over indices into AlertRules.routes (see routing.ts). */
export interface RouteTree {
  readonly route: number;
  readonly matchers: readonly Matcher[];
  readonly continue: boolean;
  readonly children: readonly RouteTree[];
}

export interface AlertRules {
  /** One per receiver (flat routing), or one per node of the tree. */
  readonly routes: readonly Route[];
  /** With a tree, an alert goes where it leads (first match, `continue`); without, to every route that matches. */
  readonly tree?: RouteTree;
  readonly inhibit: readonly InhibitRule[];
  /** Resolved alerts kept (memory and store); the oldest go first. */
  readonly keepResolved: number;
}

/** One notification for one group of one receiver, as the engine decided it; the runner turns it into a webhook body. */
export interface Notification {
  readonly receiver: string;
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly status: "firing" | "resolved";
  readonly alerts: readonly Alert[];
  readonly at: number;
}

export type AlertEventType =
  | "alert.firing"
  | "alert.repeated"
  | "alert.acknowledged"
  | "alert.resolved"
  | "alert.silenced"
  | "alert.unsilenced"
  | "silence.created"
  | "silence.expired";

export type AlertAction =
  | { readonly kind: "save-alert"; readonly alert: Alert }
  | { readonly kind: "forget-alert"; readonly id: string }
  | { readonly kind: "save-silence"; readonly silence: Silence }
  | { readonly kind: "notify"; readonly notification: Notification }
  | { readonly kind: "event"; readonly type: AlertEventType; readonly alert?: Alert; readonly silence?: Silence; readonly message: string };

export function viewState(a: Alert): AlertState {
  if (a.lifecycle === "resolved") return "resolved";
  return a.silencedBy.length > 0 ? "silenced" : a.lifecycle;
}
