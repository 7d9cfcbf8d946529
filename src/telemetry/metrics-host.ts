// Host CPU/memory sampled off the hot path and cached, plus the agent's own CPU and RSS.
import { currentLoad, mem } from "systeminformation";

export interface HostSample {
  /** Busy fraction of all CPUs, 0..1. */
  readonly cpu: number;
  readonly memory: { readonly total: number; readonly used: number; readonly free: number; readonly cached: number };
}

export type HostSampleFn = () => Promise<HostSample>;

/** currentLoad() costs ~5-8 ms (its first call ~500 ms): never more often than this. */
export const HOST_SAMPLE_MIN_INTERVAL_MS = 5_000;

export async function sampleHost(): Promise<HostSample> {
  const [load, m] = await Promise.all([currentLoad(), mem()]);
  const cached = Math.max(0, m.buffcache);
  const used = Math.max(0, m.total - m.free - cached);
  return { cpu: Math.min(1, Math.max(0, load.currentLoad / 100)), memory: { total: m.total, used, free: m.free, cached } };
}

export interface HostSampler {
  /** The cached sample; starts a background refresh when stale. Waits only while no sample exists yet. */
  get(): Promise<HostSample | undefined>;
  /** Waits for a refresh in flight (used by shutdown so nothing outlives the telemetry). */
  settle(): Promise<void>;
}

export function createHostSampler(sample: HostSampleFn, now: () => number, minIntervalMs = HOST_SAMPLE_MIN_INTERVAL_MS): HostSampler {
  let last: HostSample | undefined;
  let lastAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    inFlight ??= sample()
      .then((s) => {
        last = s;
        lastAt = now();
      })
      .catch(() => {
        // A failed read keeps the previous sample; the next collect retries after the interval.
        lastAt = now();
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  return {
    get: async function getHostSample() {
      if (now() - lastAt >= minIntervalMs) {
        const pending = refresh();
        if (last === undefined) await pending;
      }
      return last;
    },
    settle: async function settleHostSampler() {
      await inFlight;
    },
  };
}

export interface SelfSample {
  /** Percent of ONE CPU used by this process since the previous sample (the unit ProcStats uses). */
  readonly cpuPercent: number;
  readonly rssBytes: number;
}

/** The agent's own CPU (delta of process.cpuUsage over wall time) and RSS; about a microsecond a call. */
export function createSelfSampler(): () => SelfSample {
  let prevCpu = process.cpuUsage();
  let prevWall = performance.now();
  let cpuPercent = ((prevCpu.user + prevCpu.system) / 1000 / Math.max(1, process.uptime() * 1000)) * 100;
  return function sampleSelf() {
    const nowCpu = process.cpuUsage();
    const nowWall = performance.now();
    const wallMs = nowWall - prevWall;
    // Two collects in the same millisecond (Prometheus and OTLP together) keep the previous figure.
    if (wallMs >= 1) {
      const usedMs = (nowCpu.user - prevCpu.user + nowCpu.system - prevCpu.system) / 1000;
      cpuPercent = Math.max(0, (usedMs / wallMs) * 100);
      prevCpu = nowCpu;
      prevWall = nowWall;
    }
    return { cpuPercent, rssBytes: process.memoryUsage.rss() };
  };
}
