// The alert service on the supervisor thread: drives the pure engine (src/core/alerts) with the built-in sources,
// API calls and a periodic tick; persists what the engine changed before telling anyone (events, webhooks).
// Callable as functions (the API module and policies use the same ones).
//
//   created --start()--> running --stop()--> stopped      (stop is idempotent)
import type { AlertsConfig, ReceiverConfig } from "../config/alerts-schema.ts";
import { toAlertRules } from "../config/alerts.ts";
import { createEngineState, decide, type Decision, type EngineState, Reason } from "../core/alerts/engine.ts";
import { parseMatcher } from "../core/alerts/matchers.ts";
import { webhookPayload } from "../core/alerts/payload.ts";
import { type Alert, type AlertInput, type AlertSeverity, type AlertState, type Matcher, SEVERITIES, type Silence, viewState } from "../core/alerts/types.ts";
import { type AlertStore, type NotificationRecord, openAlertStore } from "../state/alert-store.ts";
import type { EventInput, Severity } from "../state/event-bus.ts";
import type { Store } from "../state/store.ts";
import { StoreError } from "../state/store-fault.ts";
import type { Logger } from "../telemetry/logger.ts";
import { createDelivery, type Delivery } from "./delivery.ts";
import type { AlertChanges, AlertSource } from "./sources.ts";

export interface AlertServiceDeps {
  config(): AlertsConfig;
  readonly store: Store;
  publish(e: EventInput): void;
  readonly log: Logger;
  /** The admin API's base URL, for generatorURL (unless alerts.external_url is set). */
  apiUrl(): string;
  readonly sources: readonly AlertSource[];
  counted?(receiver: string, outcome: "sent" | "failed" | "dropped"): void;
  /** Receivers not in the config (a policy webhook action), resolved by name when a notification is sent. */
  extraReceiver?(name: string): ReceiverConfig | undefined;
  now?: () => number;
  fetch?: typeof fetch;
}

export interface AlertFilter {
  state?: AlertState;
  severity?: AlertSeverity;
  labels?: Readonly<Record<string, string>>;
  source?: string;
}

export interface AlertStats {
  byState: Record<AlertState, number>;
  bySeverity: Record<AlertSeverity, number>;
  /** Mean ms from start to acknowledgement, over the kept alerts that were acknowledged (null: none). */
  meanTimeToAcknowledgeMs: number | null;
  meanTimeToResolveMs: number | null;
  notifications: { pending: number; dropped: number };
}

export type AlertOutcome = { ok: true; alert: Alert } | { ok: false; reason: "not_found" | "already_resolved" | "already_acknowledged"; alert?: Alert };

export interface AlertService {
  start(): void;
  stop(): void;
  /** Raise (or repeat) an alert from the API or a policy. */
  raise(input: AlertInput): { alert: Alert; created: boolean };
  acknowledge(id: string, by: string, comment?: string): AlertOutcome;
  resolve(id: string, by: string, comment?: string): AlertOutcome;
  list(filter?: AlertFilter): Alert[];
  get(id: string): Alert | undefined;
  stats(): AlertStats;
  silences(): Silence[];
  silence(s: { matchers: readonly string[]; startsAt?: number; endsAt: number; createdBy: string; comment: string }): Silence;
  expireSilence(id: string): Silence | undefined;
  notifications(limit: number): NotificationRecord[];
  /** The config changed: new rules for the engine. */
  reload(): void;
  /**
   * Queues one webhook on the alert delivery path (persisted, retried with backoff, signed, one in flight per
   * receiver); the receiver must resolve through the config or `extraReceiver`. The notification's id, or false
   * when the queue is full and it was dropped.
   */
  deliver(n: { receiver: string; groupKey: string; payload: string; headers?: Readonly<Record<string, string>> }): number | false;
  /** One evaluation of every source and a tick (what the timer does; tests and benchmarks call it). */
  evaluate(): Promise<void>;
  readonly state: EngineState;
}

const EVENT_SEVERITY: Record<AlertSeverity, Severity> = { info: "info", warning: "warning", critical: "critical" };

export function createAlertService(deps: AlertServiceDeps): AlertService {
  const now = deps.now ?? Date.now;
  const store: AlertStore = openAlertStore(deps.store);
  const state = createEngineState(toAlertRules(deps.config()), store.alerts(), store.silences(), now());
  let silenceSeq = state.silences.size;
  // Receivers of the config, then those of other senders on the same delivery path (policy webhook actions).
  const receiver = (name: string): ReceiverConfig | undefined => deps.config().receivers.find((r) => r.name === name) ?? deps.extraReceiver?.(name);
  const delivery: Delivery = createDelivery({
    store,
    receiver,
    queueSize: () => deps.config().queue_size,
    replyLimit: () => deps.config().reply_limit,
    publish: deps.publish,
    counted: (r, o) => deps.counted?.(r, o),
    now,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  let timer: ReturnType<typeof setInterval> | undefined;
  let evaluating = false;
  /** Sources failing now: told once when one starts failing and once when it works again, not every second. */
  const failing = new Set<string>();
  /** Sources whose last report the engine holds: they may report changes only. Others are asked for everything. */
  const inStep = new Set<string>();
  let stopped = false;

  /** Persist first, then tell: a notification or event is only sent about a state the store holds. */
  const apply = (d: Decision): Decision => {
    for (const a of d.actions) {
      try {
        if (a.kind === "save-alert") store.putAlert(a.alert);
        else if (a.kind === "forget-alert") store.deleteAlert(a.id);
        else if (a.kind === "save-silence") store.putSilence(a.silence);
      } catch (e) {
        // A store fault was reported once by the store; the engine's memory stays the truth until it recovers.
        if (!(e instanceof StoreError)) throw e;
      }
    }
    for (const a of d.actions) {
      if (a.kind === "event") {
        const al = a.alert;
        deps.publish({
          type: a.type,
          source: "alerts",
          target: al ? al.id : (a.silence?.id ?? "alerts"),
          severity: al && a.type === "alert.firing" ? EVENT_SEVERITY[al.severity] : "info",
          message: a.message,
          data: al ? { id: al.id, fingerprint: al.fingerprint, name: al.name, severity: al.severity, labels: al.labels, state: viewState(al), occurrences: al.occurrences } : { silence: a.silence },
        });
      } else if (a.kind === "notify") {
        const cfg = deps.config();
        const r = receiver(a.notification.receiver);
        const body = JSON.stringify(webhookPayload(a.notification, (cfg.external_url ?? deps.apiUrl()).replace(/\/$/, ""), r?.max_alerts ?? 0));
        delivery.enqueue({ receiver: a.notification.receiver, groupKey: a.notification.groupKey, status: a.notification.status, alertIds: a.notification.alerts.map((x) => x.id), payload: body });
      }
    }
    return d;
  };
  /** API writes are refused up front while the store cannot take them, so a refused call changes nothing. */
  const writable = () => {
    const f = deps.store.fault();
    if (f) throw new StoreError(f.reason, f.path, f.message);
  };
  const outcome = (d: Decision): AlertOutcome => {
    if (d.reason === Reason.NOT_FOUND) return { ok: false, reason: "not_found" };
    if (d.reason === Reason.ALREADY_RESOLVED) return { ok: false, reason: "already_resolved", alert: d.alert! };
    if (d.reason === Reason.ALREADY_ACKNOWLEDGED) return { ok: false, reason: "already_acknowledged", alert: d.alert! };
    return { ok: true, alert: d.alert! };
  };

  const evaluate = async () => {
    if (evaluating || stopped) return;
    evaluating = true;
    try {
      const cfg = deps.config();
      const t = now();
      for (const src of deps.sources) {
        if (!src.enabled(cfg)) {
          // A source switched off resolves what it had raised.
          if (state.bySource.get(src.name)?.size) apply(decide(state, { type: "observe", source: src.name, inputs: [] }, t));
          inStep.delete(src.name);
          continue;
        }
        let seen: AlertInput[] | AlertChanges;
        const full = !inStep.has(src.name);
        try {
          seen = await src.observe(cfg, t, full);
        } catch (e) {
          inStep.delete(src.name);
          if (!failing.has(src.name)) deps.log.warn("alert source failed; its alerts are kept as they are until it works again", { source: src.name, error: e });
          failing.add(src.name);
          continue;
        }
        if (failing.delete(src.name)) deps.log.info("alert source works again", { source: src.name });
        if (stopped) return;
        if (Array.isArray(seen)) apply(decide(state, { type: "observe", source: src.name, inputs: seen }, now()));
        else if (full) {
          // Asked for everything, a source must not answer with changes: take what it says firing as all it sees.
          apply(decide(state, { type: "observe", source: src.name, inputs: seen.firing }, now()));
        } else if (seen.firing.length > 0 || seen.cleared.length > 0) apply(decide(state, { type: "changes", source: src.name, firing: seen.firing, cleared: seen.cleared }, now()));
        inStep.add(src.name);
      }
      apply(decide(state, { type: "tick" }, now()));
    } finally {
      evaluating = false;
    }
  };

  const matchesFilter = (a: Alert, f: AlertFilter) =>
    (f.state === undefined || viewState(a) === f.state) &&
    (f.severity === undefined || a.severity === f.severity) &&
    (f.source === undefined || a.source === f.source) &&
    (f.labels === undefined || Object.entries(f.labels).every(([k, v]) => a.labels[k] === v));

  return {
    state,
    start() {
      delivery.start();
      const every = Math.max(100, deps.config().evaluation_interval);
      timer = setInterval(() => {
        evaluate().catch((e) => deps.log.error("alert evaluation failed", { error: e }));
      }, every);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      delivery.stop();
    },
    deliver: (n) => delivery.enqueue({ ...n, status: "firing", alertIds: [] }),
    raise(input) {
      writable();
      const d = apply(decide(state, { type: "raise", input }, now()));
      return { alert: d.alert!, created: d.reason === Reason.RAISED };
    },
    acknowledge(id, by, comment) {
      writable();
      return outcome(apply(decide(state, { type: "acknowledge", id, by, ...(comment !== undefined ? { comment } : {}) }, now())));
    },
    resolve(id, by, comment) {
      writable();
      const o = outcome(apply(decide(state, { type: "resolve", id, by, ...(comment !== undefined ? { comment } : {}) }, now())));
      // A source's alert resolved by hand: the source still thinks it reported it. Its next report is a full one,
      // so a condition that still holds raises a new alert (as it would from a level-triggered source).
      if (o.ok) inStep.delete(o.alert.source);
      return o;
    },
    list(filter = {}) {
      const out: Alert[] = [];
      for (const a of state.byId.values()) if (matchesFilter(a, filter)) out.push(a);
      // Newest first: what an operator opens the list for.
      return out.reverse();
    },
    get: (id) => state.byId.get(id),
    stats() {
      const byState: Record<AlertState, number> = { firing: 0, acknowledged: 0, silenced: 0, resolved: 0 };
      const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<AlertSeverity, number>;
      let ackSum = 0;
      let ackN = 0;
      let resSum = 0;
      let resN = 0;
      for (const a of state.byId.values()) {
        byState[viewState(a)]++;
        bySeverity[a.severity]++;
        if (a.acknowledgedAt !== undefined) {
          ackSum += a.acknowledgedAt - a.startsAt;
          ackN++;
        }
        if (a.resolvedAt !== undefined) {
          resSum += a.resolvedAt - a.startsAt;
          resN++;
        }
      }
      return {
        byState,
        bySeverity,
        meanTimeToAcknowledgeMs: ackN > 0 ? Math.round(ackSum / ackN) : null,
        meanTimeToResolveMs: resN > 0 ? Math.round(resSum / resN) : null,
        notifications: { pending: delivery.pendingCount(), dropped: delivery.dropped },
      };
    },
    silences: () => [...state.silences.values()].sort((a, b) => b.createdAt - a.createdAt),
    silence(x) {
      writable();
      const matchers: Matcher[] = x.matchers.map(parseMatcher);
      const t = now();
      let id: string;
      do id = `s${++silenceSeq}`;
      while (state.silences.has(id));
      const s: Silence = { id, matchers, startsAt: x.startsAt ?? t, endsAt: x.endsAt, createdBy: x.createdBy, comment: x.comment, createdAt: t };
      return apply(decide(state, { type: "silence", silence: s }, t)).silence!;
    },
    expireSilence(id) {
      writable();
      const d = apply(decide(state, { type: "expire-silence", id }, now()));
      return d.reason === Reason.NOT_FOUND ? undefined : d.silence;
    },
    notifications: (limit) => store.notifications(limit),
    reload() {
      inStep.clear();
      apply(decide(state, { type: "rules", rules: toAlertRules(deps.config()) }, now()));
    },
    evaluate,
  };
}
