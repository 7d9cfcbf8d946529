// Last N results of one check and a summary over them: uptime, mean and p95 latency, time per state.
//
// Time in a state runs from one result to the next (the last one up to `now`); uptime is the share of
// that time spent not critical, since a warning endpoint still serves traffic.
import { STATUSES, type Status } from "./status.ts";

export interface HistoryEntry {
  at: number;
  status: Status;
  latencyMs: number;
  output: string;
}

export interface HistorySummary {
  count: number;
  uptimePercent: number;
  meanLatencyMs: number;
  p95LatencyMs: number;
  timeInStateMs: Record<Status, number>;
}

export interface HistoryOptions {
  /** Results kept (default 100). */
  size?: number;
  /** Characters of output kept per result (default 512). */
  outputChars?: number;
}

export interface History {
  add(entry: HistoryEntry): void;
  /** add() without the entry object. */
  push(at: number, status: Status, latencyMs: number, output: string): void;
  entries(): HistoryEntry[];
  summary(now: number): HistorySummary;
  readonly last: HistoryEntry | undefined;
}

const STATUS_CODE: Record<Status, number> = { passing: 0, warning: 1, critical: 2 };

export function createHistory(options: HistoryOptions = {}): History {
  const size = Math.max(1, options.size ?? 100);
  const outputChars = Math.max(0, options.outputChars ?? 512);
  // Columns in typed arrays rather than one object per result: with thousands of checks the history is
  // most of the live heap, and plain numbers cost the garbage collector nothing to trace.
  const at = new Float64Array(size);
  const latency = new Float64Array(size);
  const status = new Uint8Array(size);
  const output: string[] = new Array(size).fill("");
  let count = 0;
  let next = 0; // slot the next result goes to

  const indexOf = (i: number) => (count < size ? i : (next + i) % size); // i-th oldest
  function push(when: number, s: Status, latencyMs: number, out: string): void {
    const prev = output[(next + size - 1) % size];
    const text = out.length > outputChars ? out.slice(0, outputChars) : out;
    at[next] = when;
    latency[next] = latencyMs;
    status[next] = STATUS_CODE[s];
    // Share the previous string when the text repeats, so steady checks keep one copy alive.
    output[next] = count > 0 && text === prev ? prev : text;
    next = (next + 1) % size;
    if (count < size) count++;
  }
  const entryAt = (slot: number): HistoryEntry => ({ at: at[slot], status: STATUSES[status[slot]], latencyMs: latency[slot], output: output[slot] });

  return {
    get last() {
      return count === 0 ? undefined : entryAt((next + size - 1) % size);
    },
    add: (entry) => push(entry.at, entry.status, entry.latencyMs, entry.output),
    push,
    entries: () => Array.from({ length: count }, (_, i) => entryAt(indexOf(i))),
    summary: function summarize(now) {
      const time = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
      const latencies = new Float64Array(count);
      let sum = 0;
      for (let i = 0; i < count; i++) {
        const slot = indexOf(i);
        const end = i + 1 < count ? at[indexOf(i + 1)] : Math.max(now, at[slot]);
        time[STATUSES[status[slot]]] += end - at[slot];
        latencies[i] = latency[slot];
        sum += latency[slot];
      }
      latencies.sort();
      const total = time.passing + time.warning + time.critical;
      // Nearest-rank p95.
      const p95 = count ? latencies[Math.ceil(0.95 * count) - 1] : 0;
      let uptime: number;
      if (total > 0) uptime = ((time.passing + time.warning) / total) * 100;
      else if (count) uptime = status[indexOf(count - 1)] === STATUS_CODE.critical ? 0 : 100;
      else uptime = 0;
      return { count, uptimePercent: uptime, meanLatencyMs: count ? sum / count : 0, p95LatencyMs: p95, timeInStateMs: time };
    },
  };
}
