// Webhook delivery of alert notifications: a bounded queue persisted in the store, one delivery in flight per
// receiver (a receiver's notifications arrive in order), retries with exponential backoff up to max_attempts,
// a timeout per attempt, an optional HMAC-SHA256 signature. A receiver that is down never blocks the agent or the
// other receivers; a full queue drops the new notification and counts it.
//
//   pending --2xx--> delivered
//   pending --error, attempts left--> pending (next attempt after backoff)
//   pending --error, none left--> failed        (a new notification beyond queue_size: dropped)
import { createHmac } from "node:crypto";
import type { ReceiverConfig } from "../config/alerts-schema.ts";
import type { AlertStore, DeliveryAttempt, NotificationRecord } from "../state/alert-store.ts";
import { StoreError } from "../state/store-fault.ts";
import type { EventInput } from "../state/event-bus.ts";

export const SIGNATURE_HEADER = "X-Polis-Signature";
/** Finished notifications kept for GET /v1/alerts/notifications. */
const KEEP_FINISHED = 1000;

export interface DeliveryDeps {
  readonly store: AlertStore;
  receiver(name: string): ReceiverConfig | undefined;
  queueSize(): number;
  replyLimit(): number;
  publish(e: EventInput): void;
  counted(receiver: string, outcome: "sent" | "failed" | "dropped"): void;
  now?: () => number;
  fetch?: typeof fetch;
}

export interface Delivery {
  /** Queues a notification (persisted first); false when the queue is full and it was dropped. */
  enqueue(n: { receiver: string; groupKey: string; status: "firing" | "resolved"; alertIds: readonly string[]; payload: string; headers?: Readonly<Record<string, string>> }): number | false;
  start(): void;
  stop(): void;
  readonly dropped: number;
  pendingCount(): number;
}

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export function createDelivery(deps: DeliveryDeps): Delivery {
  const now = deps.now ?? Date.now;
  const doFetch = deps.fetch ?? fetch;
  const queue: NotificationRecord[] = deps.store.pending();
  const busy = new Set<string>();
  let dropped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  const inflight = new Set<AbortController>();

  const persist = (n: NotificationRecord) => {
    try {
      deps.store.putNotification(n);
    } catch (e) {
      // The store reported its fault once; the delivery goes on from memory.
      if (!(e instanceof StoreError)) throw e;
    }
  };

  const schedule = () => {
    if (!running) return;
    if (timer) clearTimeout(timer);
    let next = Infinity;
    for (const n of queue) if (!busy.has(n.receiver)) next = Math.min(next, n.nextAttemptAt);
    if (next === Infinity) return;
    timer = setTimeout(pump, Math.max(0, Math.min(next - now(), 60_000)));
  };

  const finish = (n: NotificationRecord, state: "delivered" | "failed") => {
    n.state = state;
    const i = queue.indexOf(n);
    if (i >= 0) queue.splice(i, 1);
    persist(n);
    deps.counted(n.receiver, state === "delivered" ? "sent" : "failed");
    if (state === "failed") {
      const last = n.attempts[n.attempts.length - 1];
      deps.publish({ type: "alert.notification-failed", source: "alerts", target: n.receiver, severity: "error", message: `notification ${n.id} to ${n.receiver} given up after ${n.attempts.length} attempt(s): ${last?.error ?? `HTTP ${last?.status}`}`, data: { notification: n.id, receiver: n.receiver, attempts: n.attempts.length } });
    }
  };

  async function attempt(n: NotificationRecord, r: ReceiverConfig) {
    busy.add(n.receiver);
    const started = now();
    const ac = new AbortController();
    inflight.add(ac);
    const timeout = setTimeout(() => ac.abort(new Error(`no answer within ${r.timeout} ms`)), r.timeout);
    let result: DeliveryAttempt;
    try {
      const res = await doFetch(r.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "polis-alerts", ...r.headers, ...n.headers, ...(r.hmac_secret ? { [SIGNATURE_HEADER]: sign(r.hmac_secret, n.payload) } : {}) },
        body: n.payload,
        signal: ac.signal,
        redirect: "manual",
      });
      // Read at most reply_limit bytes of the answer, so a receiver cannot make us buffer a large body.
      const reader = res.body?.getReader();
      let read = 0;
      while (reader && read < deps.replyLimit()) {
        const c = await reader.read();
        if (c.done) break;
        read += c.value.byteLength;
      }
      await reader?.cancel().catch(() => {});
      result = { at: started, status: res.status, ms: now() - started, ...(res.ok ? {} : { error: `HTTP ${res.status}` }) };
    } catch (e) {
      const msg = ac.signal.aborted ? String((ac.signal.reason as Error)?.message ?? "aborted") : (e as Error).message;
      result = { at: started, status: null, ms: now() - started, error: msg };
    } finally {
      clearTimeout(timeout);
      inflight.delete(ac);
      busy.delete(n.receiver);
    }
    if (!running) return;
    // Bounded history per notification: the first attempts and the latest are what an operator reads.
    n.attempts.push(result);
    if (n.attempts.length > 20) n.attempts.splice(10, 1);
    if (result.status !== null && result.status >= 200 && result.status < 300) finish(n, "delivered");
    else if (n.attempts.length >= r.max_attempts) finish(n, "failed");
    else {
      n.nextAttemptAt = now() + Math.min(r.max_backoff, r.backoff * 2 ** (n.attempts.length - 1));
      persist(n);
    }
    schedule();
  }

  function pump() {
    timer = undefined;
    if (!running) return;
    const t = now();
    for (const n of [...queue]) {
      if (busy.has(n.receiver) || n.nextAttemptAt > t) continue;
      const r = deps.receiver(n.receiver);
      if (!r) {
        // The receiver left the config: nobody to tell. Give the notification up with the reason.
        n.attempts.push({ at: t, status: null, ms: 0, error: `receiver ${n.receiver} is no longer configured` });
        finish(n, "failed");
        continue;
      }
      void attempt(n, r);
    }
    schedule();
  }

  return {
    enqueue(x) {
      const record: NotificationRecord = { id: 0, receiver: x.receiver, state: "pending", groupKey: x.groupKey, status: x.status, alertIds: x.alertIds, payload: x.payload, ...(x.headers ? { headers: x.headers } : {}), createdAt: now(), nextAttemptAt: now(), attempts: [] };
      if (queue.length >= deps.queueSize()) {
        dropped++;
        record.state = "dropped";
        persist(record);
        deps.counted(x.receiver, "dropped");
        // One event per 100 drops: a receiver down for long must not flood the bus too.
        if (dropped === 1 || dropped % 100 === 0) deps.publish({ type: "alert.notification-dropped", source: "alerts", target: x.receiver, severity: "error", message: `the notification queue is full (${deps.queueSize()}): ${dropped} notification(s) dropped so far`, data: { dropped } });
        return false;
      }
      let id = 0;
      try {
        id = deps.store.putNotification(record);
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        id = -Date.now();
      }
      queue.push({ ...record, id });
      schedule();
      return id;
    },
    start() {
      running = true;
      schedule();
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      for (const ac of inflight) ac.abort(new Error("agent stopping"));
      try {
        deps.store.trimNotifications(KEEP_FINISHED);
      } catch {
        // Trimming is housekeeping; a faulty store was reported already.
      }
    },
    get dropped() {
      return dropped;
    },
    pendingCount: () => queue.length,
  };
}
