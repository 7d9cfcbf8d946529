// The event bus: every event gets the next sequence number, lands in a bounded ring, and reaches subscribers.
// Subscribers are called synchronously and must not throw; a slow consumer is the subscriber's problem
// (the WebSocket layer drops slow clients instead of growing memory).

export type Severity = "debug" | "info" | "warning" | "error" | "critical";

export interface AgentEvent {
  readonly seq: number;
  /** Wall-clock milliseconds. */
  readonly ts: number;
  /** Dotted type, e.g. "proc.started", "health.changed", "worker.restarted". */
  readonly type: string;
  /** Which part of the agent saw it: "supervisor", "procs", "health", ... */
  readonly source: string;
  /** What it is about: an app, a replica id, a check id, a worker name. */
  readonly target: string;
  readonly severity: Severity;
  readonly message: string;
  readonly data?: Record<string, unknown>;
}

export type EventInput = Omit<AgentEvent, "seq" | "ts"> & { ts?: number };

export interface EventBus {
  publish(e: EventInput): AgentEvent;
  subscribe(fn: (e: AgentEvent) => void): () => void;
  /** Events after `seq` still in the ring; `gap` is true when some were already dropped from it. */
  since(seq: number): { events: AgentEvent[]; gap: boolean };
  /** The newest `n` events (that `filter` keeps, when given), oldest first. */
  recent(n: number, filter?: (e: AgentEvent) => boolean): AgentEvent[];
  readonly lastSeq: number;
}

export function createEventBus(opts: { capacity?: number; startSeq?: number; now?: () => number } = {}): EventBus {
  const capacity = opts.capacity ?? 10_000;
  const now = opts.now ?? Date.now;
  const ring: AgentEvent[] = [];
  const subs = new Set<(e: AgentEvent) => void>();
  let seq = opts.startSeq ?? 0;
  return {
    publish(input) {
      const e: AgentEvent = { ...input, seq: ++seq, ts: input.ts ?? now() };
      ring.push(e);
      if (ring.length > capacity) ring.splice(0, ring.length - capacity);
      for (const fn of subs) {
        try {
          fn(e);
        } catch {
          // A faulty subscriber must not stop the others or the publisher.
        }
      }
      return e;
    },
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
    since(after) {
      const first = ring[0];
      const gap = first !== undefined && first.seq > after + 1;
      let i = ring.length;
      while (i > 0 && ring[i - 1]!.seq > after) i--;
      return { events: ring.slice(i), gap };
    },
    recent(n, filter) {
      if (filter === undefined) return ring.slice(Math.max(0, ring.length - n));
      const out: AgentEvent[] = [];
      for (let i = ring.length - 1; i >= 0 && out.length < n; i--) if (filter(ring[i]!)) out.push(ring[i]!);
      return out.reverse();
    },
    get lastSeq() {
      return seq;
    },
  };
}
