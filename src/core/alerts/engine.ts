// The alert engine: a state machine over alerts, silences and notification groups. decide(state, event, now)
// applies one event and returns what the runner must do (persist, notify, publish) with a named reason. It does no
// I/O and reads no clock; for 10,000 active alerts it mutates its maps in place rather than copying them per event.
//
//   (raise) --> firing --ack--> acknowledged --(condition clears | resolve | endsAt)--> resolved
//                 \______________________________________________________________/
//   while a silence matches: shown as silenced, not notified; while a firing alert inhibits it: not notified.
import { fingerprintOf, labelsOf } from "./fingerprint.ts";
import { createGroups, flushGroups, type Groups, placeAlert } from "./groups.ts";
import { matchesAll } from "./matchers.ts";
import type { Alert, AlertAction, AlertInput, AlertRules, Silence } from "./types.ts";

export const Reason = {
  RAISED: "raised",
  REPEATED: "repeated",
  UNCHANGED: "unchanged",
  ACKNOWLEDGED: "acknowledged",
  ALREADY_ACKNOWLEDGED: "already-acknowledged",
  RESOLVED: "resolved",
  ALREADY_RESOLVED: "already-resolved",
  NOT_FOUND: "not-found",
  SILENCE_CREATED: "silence-created",
  SILENCE_EXPIRED: "silence-expired",
  TICK: "tick",
  RULES: "rules-changed",
  OBSERVED: "observed",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface EngineState {
  rules: AlertRules;
  /** Every alert kept, active and recently resolved, by id. */
  readonly byId: Map<string, Alert>;
  /** Active (not resolved) alerts by fingerprint: the deduplication index. */
  readonly active: Map<string, Alert>;
  /** Active fingerprints by the source that raised them (observe resolves what a source no longer reports). */
  readonly bySource: Map<string, Set<string>>;
  /** Ids of resolved alerts, oldest first. */
  readonly resolvedOrder: string[];
  readonly silences: Map<string, Silence>;
  readonly groups: Groups;
  /** Active fingerprints that carry an endsAt. */
  readonly expiring: Set<string>;
  nextId: number;
  /** Silences or inhibition sources changed: every alert's suppression must be recomputed. */
  suppressionDirty: boolean;
  /** The next time a silence starts or ends (suppression changes then without any event). */
  nextSilenceBoundary: number;
  /** Per inhibit rule: active fingerprints by their `equal` label values (inhibition looks in one bucket only). */
  inhibitIndex: Array<Map<string, Set<string>>>;
  /** Buckets whose inhibition source changed: [rule, key]. */
  readonly dirtyBuckets: Array<[number, string]>;
  /** Observed inputs' fingerprints by a cheap key of their labels in the order given (no sort, no hash). */
  readonly keyCache: Map<string, string>;
}

export type AlertEvent =
  | { readonly type: "raise"; readonly input: AlertInput }
  /** Level-triggered: what `source` sees firing now; its other active alerts resolve. */
  | { readonly type: "observe"; readonly source: string; readonly inputs: readonly AlertInput[] }
  /**
   * Edge-triggered: what changed for `source` since its last report (a full `observe` first). `firing` starts (or
   * keeps) alerts; `cleared` are inputs it reported before and no longer sees: their alerts resolve. Costs what
   * changed, not what is active.
   */
  | { readonly type: "changes"; readonly source: string; readonly firing: readonly AlertInput[]; readonly cleared: readonly AlertInput[] }
  | { readonly type: "acknowledge"; readonly id: string; readonly by: string; readonly comment?: string }
  | { readonly type: "resolve"; readonly id: string; readonly by: string; readonly comment?: string }
  | { readonly type: "silence"; readonly silence: Silence }
  | { readonly type: "expire-silence"; readonly id: string }
  | { readonly type: "tick" }
  | { readonly type: "rules"; readonly rules: AlertRules };

export interface Decision {
  readonly actions: AlertAction[];
  readonly reason: Reason;
  readonly alert?: Alert;
  readonly silence?: Silence;
}

/** A state from what the store kept (alerts oldest first; silences any order). */
export function createEngineState(rules: AlertRules, alerts: readonly Alert[] = [], silences: readonly Silence[] = [], now = 0): EngineState {
  const s: EngineState = {
    rules,
    byId: new Map(),
    active: new Map(),
    bySource: new Map(),
    resolvedOrder: [],
    silences: new Map(silences.map((x) => [x.id, x])),
    groups: createGroups(),
    expiring: new Set(),
    nextId: 1,
    suppressionDirty: true,
    nextSilenceBoundary: 0,
    inhibitIndex: rules.inhibit.map(() => new Map()),
    dirtyBuckets: [],
    keyCache: new Map(),
  };
  for (const a of alerts) {
    s.byId.set(a.id, a);
    const n = Number(a.id);
    if (Number.isFinite(n) && n >= s.nextId) s.nextId = n + 1;
    if (a.lifecycle === "resolved") s.resolvedOrder.push(a.id);
    else index(s, a);
  }
  // Alerts restored active go back into their groups as already notified: a restart does not page twice.
  for (const a of s.active.values()) placeAlert(s.groups, rules, a, now);
  for (const g of s.groups.byKey.values()) {
    g.notified = new Set(g.firing);
    g.changed = false;
    g.lastSentAt = now;
  }
  return s;
}

const equalKey = (equal: readonly string[], labels: Readonly<Record<string, string>>) => {
  let k = "";
  for (const l of equal) k += `${labels[l] ?? ""}\u0000`;
  return k;
};

/** Files an alert in every inhibit bucket; an inhibition source changing marks its bucket for recomputation. */
function inhibitFile(s: EngineState, a: Alert, add: boolean) {
  s.rules.inhibit.forEach((rule, i) => {
    const k = equalKey(rule.equal, a.labels);
    const m = s.inhibitIndex[i]!;
    let set = m.get(k);
    if (add) {
      if (!set) m.set(k, (set = new Set()));
      set.add(a.fingerprint);
    } else if (set) {
      set.delete(a.fingerprint);
      if (set.size === 0) m.delete(k);
    }
    if (matchesAll(rule.source, a.labels)) s.dirtyBuckets.push([i, k]);
  });
}

function index(s: EngineState, a: Alert) {
  s.active.set(a.fingerprint, a);
  inhibitFile(s, a, true);
  let set = s.bySource.get(a.source);
  if (!set) s.bySource.set(a.source, (set = new Set()));
  set.add(a.fingerprint);
  if (a.endsAt !== undefined) s.expiring.add(a.fingerprint);
}

function unindex(s: EngineState, a: Alert) {
  s.active.delete(a.fingerprint);
  inhibitFile(s, a, false);
  s.bySource.get(a.source)?.delete(a.fingerprint);
  s.expiring.delete(a.fingerprint);
}

const describe = (a: Alert) => `${a.severity} alert ${a.name} (${a.id})${a.annotations.summary ? `: ${a.annotations.summary}` : ""}`;

/** A source reports the same labels in the same order every time: that text finds the fingerprint without a sort. */
function fingerprintFor(s: EngineState, input: AlertInput): string {
  let key = `${input.name}\u0000${input.severity}`;
  for (const k in input.labels) key += `\u0000${k}\u0001${input.labels[k]}`;
  let fp = s.keyCache.get(key);
  if (fp === undefined) {
    fp = fingerprintOf(labelsOf(input));
    // Bounded: a source inventing labels cannot grow it past a few times the active alerts.
    if (s.keyCache.size > 4 * s.active.size + 1000) s.keyCache.clear();
    s.keyCache.set(key, fp);
  }
  return fp;
}

function raise(s: EngineState, input: AlertInput, now: number, actions: AlertAction[], repeat: boolean): { alert: Alert; reason: Reason } {
  const fp = fingerprintFor(s, input);
  const found = s.active.get(fp);
  if (found) {
    if (input.value !== undefined) found.lastValue = input.value;
    found.lastSeenAt = now;
    if (input.endsAt !== undefined) {
      found.endsAt = input.endsAt;
      s.expiring.add(fp);
    }
    if (!repeat) return { alert: found, reason: Reason.UNCHANGED };
    found.occurrences++;
    found.annotations = { ...found.annotations, ...input.annotations };
    actions.push({ kind: "save-alert", alert: found });
    // One event per repeat would flood the bus from a flapping source: every 10th (and the first) is worth telling.
    if (found.occurrences <= 2 || found.occurrences % 10 === 0) actions.push({ kind: "event", type: "alert.repeated", alert: found, message: `${describe(found)} seen again (${found.occurrences} times)` });
    return { alert: found, reason: Reason.REPEATED };
  }
  const a: Alert = {
    id: String(s.nextId++),
    fingerprint: fp,
    name: input.name,
    severity: input.severity,
    labels: labelsOf(input),
    annotations: { ...input.annotations },
    source: input.source,
    lifecycle: "firing",
    startsAt: now,
    lastSeenAt: now,
    occurrences: 1,
    ...(input.value !== undefined ? { lastValue: input.value } : {}),
    ...(input.endsAt !== undefined ? { endsAt: input.endsAt } : {}),
    silencedBy: [],
    inhibitedBy: [],
  };
  s.byId.set(a.id, a);
  index(s, a);
  suppressionOf(s, a, now);
  actions.push({ kind: "save-alert", alert: a });
  actions.push({ kind: "event", type: "alert.firing", alert: a, message: `${describe(a)} firing${a.silencedBy.length > 0 ? " (silenced)" : ""}` });
  placeAlert(s.groups, s.rules, a, now);
  return { alert: a, reason: Reason.RAISED };
}

function resolve(s: EngineState, a: Alert, now: number, by: string, comment: string | undefined, actions: AlertAction[]) {
  a.lifecycle = "resolved";
  a.resolvedAt = now;
  a.resolvedBy = by;
  if (comment !== undefined) a.resolveComment = comment;
  unindex(s, a);
  s.resolvedOrder.push(a.id);
  actions.push({ kind: "save-alert", alert: a });
  actions.push({ kind: "event", type: "alert.resolved", alert: a, message: `${describe(a)} resolved by ${by}` });
  placeAlert(s.groups, s.rules, a, now);
  while (s.resolvedOrder.length > s.rules.keepResolved) {
    const id = s.resolvedOrder.shift()!;
    s.byId.delete(id);
    actions.push({ kind: "forget-alert", id });
  }
}

const silenceActive = (x: Silence, now: number) => x.startsAt <= now && now < x.endsAt;

/** Sets an alert's silencedBy from the silences in force now. */
function silencesOf(s: EngineState, a: Alert, now: number) {
  const ids: string[] = [];
  for (const x of s.silences.values()) if (silenceActive(x, now) && matchesAll(x.matchers, a.labels)) ids.push(x.id);
  a.silencedBy = ids;
}

/** Sets an alert's silencedBy and inhibitedBy from the silences in force and its inhibit buckets; true if changed. */
function suppressionOf(s: EngineState, a: Alert, now: number): boolean {
  const before = a.silencedBy.join() + "|" + a.inhibitedBy.join();
  silencesOf(s, a, now);
  const inhibitors: string[] = [];
  s.rules.inhibit.forEach((rule, i) => {
    if (!matchesAll(rule.target, a.labels)) return;
    for (const fp of s.inhibitIndex[i]!.get(equalKey(rule.equal, a.labels)) ?? []) {
      if (fp === a.fingerprint || inhibitors.includes(fp)) continue;
      const src = s.active.get(fp);
      if (src && matchesAll(rule.source, src.labels)) inhibitors.push(fp);
    }
  });
  a.inhibitedBy = inhibitors;
  return a.silencedBy.join() + "|" + a.inhibitedBy.join() !== before;
}

function reportSuppression(s: EngineState, a: Alert, wasSilenced: boolean, now: number, actions: AlertAction[]) {
  actions.push({ kind: "save-alert", alert: a });
  const silenced = a.silencedBy.length > 0;
  if (silenced !== wasSilenced) {
    actions.push({ kind: "event", type: silenced ? "alert.silenced" : "alert.unsilenced", alert: a, message: `${describe(a)} ${silenced ? `silenced by ${a.silencedBy.join(", ")}` : "no longer silenced"}` });
  }
  placeAlert(s.groups, s.rules, a, now);
}

/**
 * Recomputes suppression where it may have changed: every active alert when silences or rules changed (or a
 * silence started or ended), else only the inhibit buckets whose source alerts came or went. Reports and re-groups
 * the alerts that changed.
 */
function recomputeSuppression(s: EngineState, now: number, actions: AlertAction[]) {
  const full = s.suppressionDirty || now >= s.nextSilenceBoundary;
  let targets: Iterable<Alert>;
  if (full) {
    s.suppressionDirty = false;
    let boundary = Infinity;
    for (const x of s.silences.values()) {
      if (x.startsAt > now) boundary = Math.min(boundary, x.startsAt);
      else if (x.endsAt > now) boundary = Math.min(boundary, x.endsAt);
    }
    s.nextSilenceBoundary = boundary;
    targets = s.active.values();
  } else {
    const set = new Set<Alert>();
    // A bucket's inhibition source changed: only that rule's targets in it can change.
    for (const [i, k] of s.dirtyBuckets) {
      const rule = s.rules.inhibit[i];
      const bucket = s.inhibitIndex[i]?.get(k);
      if (!rule || !bucket) continue;
      for (const fp of bucket) {
        const a = s.active.get(fp)!;
        if (!set.has(a) && matchesAll(rule.target, a.labels)) set.add(a);
      }
    }
    targets = set;
  }
  s.dirtyBuckets.length = 0;
  for (const a of targets) {
    const wasSilenced = a.silencedBy.length > 0;
    if (suppressionOf(s, a, now)) reportSuppression(s, a, wasSilenced, now, actions);
  }
}

export function decide(s: EngineState, event: AlertEvent, now: number): Decision {
  const actions: AlertAction[] = [];
  const done = (reason: Reason, extra: { alert?: Alert; silence?: Silence } = {}): Decision => {
    if (s.suppressionDirty || now >= s.nextSilenceBoundary || s.dirtyBuckets.length > 0) recomputeSuppression(s, now, actions);
    return { actions, reason, ...extra };
  };
  switch (event.type) {
    case "raise": {
      const r = raise(s, event.input, now, actions, true);
      return done(r.reason, { alert: r.alert });
    }
    case "observe": {
      const seen = new Set<string>();
      for (const input of event.inputs) seen.add(raise(s, input.source === event.source ? input : { ...input, source: event.source }, now, actions, false).alert.fingerprint);
      const held = s.bySource.get(event.source);
      if (held) for (const fp of [...held]) if (!seen.has(fp)) resolve(s, s.active.get(fp)!, now, "condition", "the condition cleared", actions);
      return done(Reason.OBSERVED);
    }
    case "changes": {
      // Cleared first: an input replaced by one with the same labels resolves the old alert, then raises anew.
      for (const input of event.cleared) {
        const a = s.active.get(fingerprintFor(s, input));
        if (a && a.source === event.source) resolve(s, a, now, "condition", "the condition cleared", actions);
      }
      for (const input of event.firing) raise(s, input.source === event.source ? input : { ...input, source: event.source }, now, actions, false);
      return done(Reason.OBSERVED);
    }
    case "acknowledge": {
      const a = s.byId.get(event.id);
      if (!a) return done(Reason.NOT_FOUND);
      if (a.lifecycle === "resolved") return done(Reason.ALREADY_RESOLVED, { alert: a });
      if (a.lifecycle === "acknowledged") return done(Reason.ALREADY_ACKNOWLEDGED, { alert: a });
      a.lifecycle = "acknowledged";
      a.acknowledgedAt = now;
      a.acknowledgedBy = event.by;
      if (event.comment !== undefined) a.ackComment = event.comment;
      actions.push({ kind: "save-alert", alert: a });
      actions.push({ kind: "event", type: "alert.acknowledged", alert: a, message: `${describe(a)} acknowledged by ${event.by}${event.comment ? `: ${event.comment}` : ""}` });
      return done(Reason.ACKNOWLEDGED, { alert: a });
    }
    case "resolve": {
      const a = s.byId.get(event.id);
      if (!a) return done(Reason.NOT_FOUND);
      if (a.lifecycle === "resolved") return done(Reason.ALREADY_RESOLVED, { alert: a });
      resolve(s, a, now, event.by, event.comment, actions);
      return done(Reason.RESOLVED, { alert: a });
    }
    case "silence": {
      s.silences.set(event.silence.id, event.silence);
      s.suppressionDirty = true;
      actions.push({ kind: "save-silence", silence: event.silence });
      actions.push({ kind: "event", type: "silence.created", silence: event.silence, message: `silence ${event.silence.id} by ${event.silence.createdBy} until ${new Date(event.silence.endsAt).toISOString()}: ${event.silence.comment}` });
      return done(Reason.SILENCE_CREATED, { silence: event.silence });
    }
    case "expire-silence": {
      const x = s.silences.get(event.id);
      if (!x) return done(Reason.NOT_FOUND);
      if (x.endsAt > now) {
        x.endsAt = now;
        s.suppressionDirty = true;
        actions.push({ kind: "save-silence", silence: x });
        actions.push({ kind: "event", type: "silence.expired", silence: x, message: `silence ${x.id} expired` });
      }
      return done(Reason.SILENCE_EXPIRED, { silence: x });
    }
    case "rules": {
      s.rules = event.rules;
      s.inhibitIndex = event.rules.inhibit.map(() => new Map());
      for (const a of s.active.values()) inhibitFile(s, a, true);
      s.dirtyBuckets.length = 0;
      // Routes may differ: rebuild the groups from the active alerts, as already notified (a reload does not page).
      s.groups.byKey.clear();
      s.groups.ofAlert.clear();
      for (const a of s.active.values()) placeAlert(s.groups, s.rules, a, now);
      for (const g of s.groups.byKey.values()) {
        g.notified = new Set(g.firing);
        g.changed = false;
        g.lastSentAt = now;
      }
      s.suppressionDirty = true;
      return done(Reason.RULES);
    }
    case "tick": {
      for (const fp of [...s.expiring]) {
        const a = s.active.get(fp);
        if (a?.endsAt !== undefined && a.endsAt <= now) resolve(s, a, now, "expiry", "not raised again before its endsAt", actions);
      }
      if (s.suppressionDirty || now >= s.nextSilenceBoundary || s.dirtyBuckets.length > 0) recomputeSuppression(s, now, actions);
      flushGroups(s.groups, s.rules.routes, s.active, now, actions);
      return { actions, reason: Reason.TICK };
    }
  }
}
