// Pure check scheduler: a binary min-heap of due times, driven by the Clock it is given.
//
// Life of a check:   add ──▶ waiting ──due()──▶ running ──complete()──▶ waiting ...
//                                 └──remove()──▶ gone ◀──remove()──┘
// A running check is out of the heap, so it cannot be due again until its run completes: one check never
// runs twice at once. Removed or re-added entries stay in the heap as stale records (generation check)
// and are skipped when they surface, which keeps remove O(1).
import type { Clock } from "../time.ts";

export interface ScheduleIntervals {
  intervalMs: number;
  /** Interval used after a non-passing run (default: intervalMs). */
  unhealthyIntervalMs?: number;
}

interface Slot {
  gen: number;
  intervals: ScheduleIntervals;
  dueAt: number;
  running: boolean;
  /** First due time given by an add() that arrived while the check was running. */
  pendingFirst?: number;
}

interface HeapItem {
  at: number;
  seq: number;
  id: string;
  gen: number;
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
  const heap: HeapItem[] = [];
  let seq = 0;
  let gen = 0;

  const less = (a: HeapItem, b: HeapItem) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  function push(item: HeapItem): void {
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  }
  function pop(): HeapItem | undefined {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  }
  const live = (item: HeapItem) => {
    const s = slots.get(item.id);
    return s !== undefined && !s.running && s.gen === item.gen;
  };
  function dropStale(): void {
    while (heap.length > 0 && !live(heap[0])) pop();
  }
  function enqueue(id: string, slot: Slot): void {
    push({ at: slot.dueAt, seq: seq++, id, gen: slot.gen });
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
      const slot: Slot = { gen: ++gen, intervals, dueAt: firstDueAt, running: false };
      slots.set(id, slot);
      enqueue(id, slot);
    },
    remove: function removeCheck(id) {
      return slots.delete(id);
    },
    due: function dueChecks(now = clock.now()) {
      const out: string[] = [];
      dropStale();
      while (heap.length > 0 && heap[0].at <= now) {
        const item = pop()!;
        if (live(item)) {
          slots.get(item.id)!.running = true;
          out.push(item.id);
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
      slot.gen = ++gen;
      enqueue(id, slot);
      return slot.dueAt;
    },
    dueAt: (id) => slots.get(id)?.dueAt,
    isRunning: (id) => slots.get(id)?.running ?? false,
    nextDueAt: function nextDueAt() {
      dropStale();
      return heap[0]?.at;
    },
  };
}
