// Desired state set at run time, per app: the replica count (by the operator or the autoscaler), an autoscaling
// pause, an operator stop, and the scaler's last decision. Persisted (sqlite kv) before anyone acts on it, so a
// restarted agent reconciles to what was wanted, not to the config's defaults.
//
// Contract: update() writes the whole map to the store first and changes the in-memory copy only when the write
// succeeded; a failed write (disk full, store gone) throws and leaves everything as it was.

export interface StoppedIntent {
  /** Wall-clock ms of the stop. */
  readonly at: number;
  /** The count `start` brings back. */
  readonly previous: number;
}

export interface ScalerDecisionRecord {
  readonly replicas: number;
  readonly at: number;
  readonly reason: string;
}

export interface AppIntent {
  /** The replica count set at run time (kept within the config's bounds when applied). */
  readonly replicas?: number;
  readonly setBy?: "operator" | "scaler";
  /** Autoscaling ignores its decisions until then (wall-clock ms), after a manual scale. */
  readonly pausedUntil?: number;
  readonly stopped?: StoppedIntent;
  readonly lastDecision?: ScalerDecisionRecord;
}

export interface IntentStore {
  get(app: string): AppIntent;
  update(app: string, f: (i: AppIntent) => AppIntent): AppIntent;
  all(): Readonly<Record<string, AppIntent>>;
}

export interface KvStore {
  getKv<T>(key: string): T | undefined;
  putKv(key: string, value: unknown): void;
}

export const INTENT_KEY = "intent.apps";

const EMPTY: AppIntent = {};

export function createIntentStore(store: KvStore): IntentStore {
  let intents: Record<string, AppIntent> = store.getKv<Record<string, AppIntent>>(INTENT_KEY) ?? {};
  return {
    get: (app) => intents[app] ?? EMPTY,
    update(app, f) {
      const nextOne = f(intents[app] ?? EMPTY);
      const next = { ...intents, [app]: nextOne };
      store.putKv(INTENT_KEY, next);
      intents = next;
      return nextOne;
    },
    all: () => intents,
  };
}

/**
 * Who holds the replica count: the autoscaler ("auto"), nobody until `pausedUntil` ("paused": a manual scale of
 * an autoscaled app), or the operator ("manual": an app without autoscaling, or a stopped app).
 */
export type AutoscalingMode = "auto" | "paused" | "manual";

export function autoscalingMode(intent: AppIntent, autoscaled: boolean, now: number): { mode: AutoscalingMode; pausedUntil?: number } {
  if (!autoscaled || intent.stopped) return { mode: "manual" };
  if (intent.pausedUntil !== undefined && intent.pausedUntil > now) return { mode: "paused", pausedUntil: intent.pausedUntil };
  return { mode: "auto" };
}
