// Alerts, silences and pending notifications in the supervisor's sqlite store (their own tables). An alert is
// written whenever the engine changes it; a notification is written before its first delivery attempt and updated
// after each, so an agent restart resumes every delivery that had not succeeded or been given up.
import type { Alert, Silence } from "../core/alerts/types.ts";
import type { Store } from "./store.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notifications (id INTEGER PRIMARY KEY, receiver TEXT NOT NULL, state TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS notifications_state ON notifications (state, id);
`;

export type DeliveryState = "pending" | "delivered" | "failed" | "dropped";

export interface DeliveryAttempt {
  readonly at: number;
  /** HTTP status, or null when no answer came (refused, timeout). */
  readonly status: number | null;
  readonly error?: string;
  readonly ms: number;
}

export interface NotificationRecord {
  readonly id: number;
  readonly receiver: string;
  state: DeliveryState;
  readonly groupKey: string;
  readonly status: "firing" | "resolved";
  readonly alertIds: readonly string[];
  /** The webhook body, as sent (and signed) on every attempt. */
  readonly payload: string;
  /** Headers of this notification besides the receiver's (a policy webhook's Idempotency-Key). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly createdAt: number;
  nextAttemptAt: number;
  attempts: DeliveryAttempt[];
}

export interface AlertStore {
  alerts(): Alert[];
  silences(): Silence[];
  putAlert(a: Alert): void;
  deleteAlert(id: string): void;
  putSilence(s: Silence): void;
  /** Notifications not yet delivered or given up, oldest first. */
  pending(): NotificationRecord[];
  /** Inserts (no id, or id 0) or updates a notification; returns its id. */
  putNotification(n: Omit<NotificationRecord, "id"> & { id?: number }): number;
  notifications(limit: number): NotificationRecord[];
  /** Keeps the newest `keep` finished notifications. */
  trimNotifications(keep: number): void;
}

export function openAlertStore(store: Store): AlertStore {
  const db = store.db;
  db.exec(SCHEMA);
  const q = {
    alerts: db.query<{ body: string }, []>("SELECT body FROM alerts ORDER BY id"),
    putAlert: db.query("INSERT INTO alerts (id, fingerprint, body) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body"),
    deleteAlert: db.query("DELETE FROM alerts WHERE id = ?"),
    silences: db.query<{ body: string }, []>("SELECT body FROM silences"),
    putSilence: db.query("INSERT INTO silences (id, body) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body"),
    pending: db.query<{ id: number; body: string }, []>("SELECT id, body FROM notifications WHERE state = 'pending' ORDER BY id"),
    insertN: db.query<{ id: number }, [string, string, string]>("INSERT INTO notifications (receiver, state, body) VALUES (?, ?, ?) RETURNING id"),
    updateN: db.query("UPDATE notifications SET state = ?, body = ? WHERE id = ?"),
    recentN: db.query<{ id: number; body: string }, [number]>("SELECT id, body FROM notifications ORDER BY id DESC LIMIT ?"),
    trimN: db.query("DELETE FROM notifications WHERE state != 'pending' AND id <= (SELECT MAX(id) FROM notifications) - ?"),
  };
  const rec = (r: { id: number; body: string }): NotificationRecord => ({ ...(JSON.parse(r.body) as NotificationRecord), id: r.id });
  return {
    alerts: () => q.alerts.all().map((r) => JSON.parse(r.body) as Alert),
    silences: () => q.silences.all().map((r) => JSON.parse(r.body) as Silence),
    putAlert: (a) => store.guard(`alert ${a.id}`, () => void q.putAlert.run(Number(a.id), a.fingerprint, JSON.stringify(a))),
    deleteAlert: (id) => store.guard(`alert ${id}`, () => void q.deleteAlert.run(Number(id))),
    putSilence: (s) => store.guard(`silence ${s.id}`, () => void q.putSilence.run(s.id, JSON.stringify(s))),
    pending: () => q.pending.all().map(rec),
    putNotification(n) {
      const { id, ...rest } = n;
      return store.guard(`notification to ${n.receiver}`, () => {
        if (id !== undefined && id > 0) {
          q.updateN.run(n.state, JSON.stringify(rest), id);
          return id;
        }
        return q.insertN.get(n.receiver, n.state, JSON.stringify(rest))!.id;
      });
    },
    notifications: (limit) => q.recentN.all(limit).map(rec),
    trimNotifications: (keep) => store.guard("notification history", () => void q.trimN.run(keep)),
  };
}
