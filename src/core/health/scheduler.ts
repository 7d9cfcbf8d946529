// Pure check scheduler: a binary min-heap of due times, driven by the Clock it is given.
//
// Life of a check:   add ──▶ waiting ──due()──▶ running ──complete()──▶ waiting ...
//                                 └──remove()──▶ gone ◀──remove()──┘
// A running check is out of the heap, so it cannot be due again until its run completes: one check never
// runs twice at once. The heap holds the slots themselves (no record allocated per run); a removed or
// replaced slot is marked dead and skipped when it surfaces, which keeps remove O(1).
import type { Clock } from "../time.ts";

export interface ScheduleIntervals {
  intervalMs: number;
  /** Interval used after a non-passing run (default: intervalMs). */
  unhealthyIntervalMs?: number;
}

interface Slot {
  id: string;
  /** Removed or replaced: skipped when it surfaces in the heap. */
  dead: boolean;
  /** Tie-break among equal due times: the order the slots were queued in. */
  seq: number;
  intervals: ScheduleIntervals;
  dueAt: number;
  running: boolean;
  /** First due time given by an add() that arrived while the check was running. */
  pendingFirst?: number;
}

export interface Scheduler {
  /** Adds or replaces a check; its first run is due at firstDueAt (see stagger()). */
  add(id: string, firstDueAt: number, intervals: ScheduleIntervals): void;
  remove(id: string): boolean;
  /** Ids due at `now` (default clock.now()), earliest first; each is marked running. */
  due(now?: number): string[];
  /** Ends a run; returns the next due time, or undefined when the check was removed meanwhile. */
  complete(id: string, healthy: boolean, now?: number): number | undefined;
  /** Due time of a waiting check (the last one given for a running check). */
  dueAt(id: string): number | undefined;
  isRunning(id: string): boolean;
  /** Earliest due time among waiting checks. */
  nextDueAt(): number | undefined;
  readonly size: number;
}

/** FNV-1a, 32 bits: a stable spread of ids that does not depend on insertion order. */
export function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Deterministic first due time spread over one interval, so N checks added together do not fire together. */
export function stagger(id: string, intervalMs: number, now: number): number {
  return now + (intervalMs > 0 ? hashId(id) % Math.floor(intervalMs) : 0);
}

export function createScheduler(clock: Clock): Scheduler {
  const slots = new Map<string, Slot>();
  // A slot is in the heap only while waiting, and its dueAt does not change there (add() replaces it).
  const heap: Slot[] = [];
  let seq = 0;

  const less = (a: Slot, b: Slot) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
  function push(item: Slot): void {
    // Sift up with a hole: move parents down, write the item once.
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p];
      if (!less(item, parent)) break;
      heap[i] = parent;
      i = p;
    }
    heap[i] = item;
  }
  function pop(): Slot | undefined {
    const top = heap[0];
    const last = heap.pop();
    const n = heap.length;
    if (n > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && less(heap[r], heap[l]) ? r : l;
        if (!less(heap[c], last)) break;
        heap[i] = heap[c];
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }
  const live = (slot: Slot) => !slot.dead && !slot.running;
  function dropStale(): void {
    while (heap.length > 0 && !live(heap[0])) pop();
  }
  function enqueue(slot: Slot): void {
    slot.seq = seq++;
    push(slot);
  }

  return {
    get size() {
      return slots.size;
    },
    add: function addCheck(id, firstDueAt, intervals) {
      const old = slots.get(id);
      if (old?.running) {
        // Keep it running; the new intervals apply when the run completes.
        old.intervals = intervals;
        old.pendingFirst = firstDueAt;
        return;
      }
      if (old) old.dead = true;
      const slot: Slot = { id, dead: false, seq: 0, intervals, dueAt: firstDueAt, running: false, pendingFirst: undefined };
      slots.set(id, slot);
      enqueue(slot);
    },
    remove: function removeCheck(id) {
      const slot = slots.get(id);
      if (slot === undefined) return false;
      slot.dead = true;
      return slots.delete(id);
    },
    due: function dueChecks(now = clock.now()) {
      const out: string[] = [];
      dropStale();
      while (heap.length > 0 && heap[0].dueAt <= now) {
        const slot = pop()!;
        if (live(slot)) {
          slot.running = true;
          out.push(slot.id);
        }
        dropStale();
      }
      return out;
    },
    complete: function completeRun(id, healthy, now = clock.now()) {
      const slot = slots.get(id);
      if (!slot || !slot.running) return undefined;
      const every = healthy ? slot.intervals.intervalMs : (slot.intervals.unhealthyIntervalMs ?? slot.intervals.intervalMs);
      let next = slot.pendingFirst ?? slot.dueAt + every;
      // After a stall, skip the missed slots instead of running them all at `now`: each check keeps its
      // phase, so the stagger survives an overloaded moment instead of collapsing into one burst.
      if (slot.pendingFirst === undefined && next < now) next += Math.ceil((now - next) / every) * every;
      slot.dueAt = Math.max(next, now);
      slot.pendingFirst = undefined;
      slot.running = false;
      enqueue(slot);
      return slot.dueAt;
    },
    dueAt: (id) => slots.get(id)?.dueAt,
    isRunning: (id) => slots.get(id)?.running ?? false,
    nextDueAt: function nextDueAt() {
      dropStale();
      return heap[0]?.dueAt;
    },
  };
}
