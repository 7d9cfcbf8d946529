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
  entries(): HistoryEntry[];
  summary(now: number): HistorySummary;
  readonly last: HistoryEntry | undefined;
}

export function createHistory(options: HistoryOptions = {}): History {
  const size = Math.max(1, options.size ?? 100);
  const outputChars = Math.max(0, options.outputChars ?? 512);
  const ring: HistoryEntry[] = [];
  let head = 0; // index of the oldest entry once the ring is full

  function ordered(): HistoryEntry[] {
    return ring.length < size ? ring.slice() : [...ring.slice(head), ...ring.slice(0, head)];
  }

  return {
    get last() {
      if (ring.length === 0) return undefined;
      return ring.length < size ? ring[ring.length - 1] : ring[(head + size - 1) % size];
    },
    add: function addHistory(entry) {
      const kept = entry.output.length > outputChars ? { ...entry, output: entry.output.slice(0, outputChars) } : entry;
      if (ring.length < size) ring.push(kept);
      else {
        ring[head] = kept;
        head = (head + 1) % size;
      }
    },
    entries: ordered,
    summary: function summarize(now) {
      const list = ordered();
      const time = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
      for (let i = 0; i < list.length; i++) {
        const end = i + 1 < list.length ? list[i + 1].at : Math.max(now, list[i].at);
        time[list[i].status] += end - list[i].at;
      }
      const total = time.passing + time.warning + time.critical;
      const latencies = list.map((e) => e.latencyMs).sort((a, b) => a - b);
      const mean = latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0;
      // Nearest-rank p95.
      const p95 = latencies.length ? latencies[Math.ceil(0.95 * latencies.length) - 1] : 0;
      let uptime: number;
      if (total > 0) uptime = ((time.passing + time.warning) / total) * 100;
      else if (list.length) uptime = list[list.length - 1].status === "critical" ? 0 : 100;
      else uptime = 0;
      return { count: list.length, uptimePercent: uptime, meanLatencyMs: mean, p95LatencyMs: p95, timeInStateMs: time };
    },
  };
}
