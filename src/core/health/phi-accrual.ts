// Phi-accrual failure detector, numerically the same as Akka's PhiAccrualFailureDetector.
//
// phi = -log10(P(a heartbeat arrives later than now)), with the inter-arrival times modelled as a normal
// distribution whose CDF is the logistic approximation 1 / (1 + exp(-y(1.5976 + 0.070566 y²))).
// Like Akka: the history starts with two made-up intervals (estimate ± estimate/4) so the first phi values
// are sensible; the acceptable pause is added to the mean; the std deviation is floored; an interval that
// arrives while the detector already considers the target unavailable is not recorded (a long outage
// would otherwise skew the statistics).
import type { Clock } from "../time.ts";

export interface PhiAccrualOptions {
  threshold?: number;
  maxSampleSize?: number;
  minStdDeviationMs?: number;
  acceptableHeartbeatPauseMs?: number;
  firstHeartbeatEstimateMs?: number;
}

export const PHI_DEFAULTS = {
  threshold: 8,
  maxSampleSize: 1000,
  minStdDeviationMs: 100,
  acceptableHeartbeatPauseMs: 0,
  firstHeartbeatEstimateMs: 1000,
} as const;

export interface PhiAccrualDetector {
  heartbeat(): void;
  phi(): number;
  isAvailable(): boolean;
  /** True once at least one heartbeat arrived. */
  readonly isMonitoring: boolean;
  readonly sampleCount: number;
}

/** Akka's phi for one elapsed time, mean and std deviation (exported for tests and tools). */
export function phiOf(timeDiff: number, mean: number, stdDeviation: number): number {
  const y = (timeDiff - mean) / stdDeviation;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  // Two algebraically equal forms, each picked on the side where it does not lose precision.
  if (timeDiff > mean) return -Math.log10(e / (1 + e));
  return -Math.log10(1 - 1 / (1 + e));
}

/** Bounded window of intervals with running sums (Akka's HeartbeatHistory). */
class IntervalHistory {
  private readonly ring: number[] = [];
  private head = 0;
  private sum = 0;
  private squaredSum = 0;
  constructor(private readonly max: number) {}
  get size(): number {
    return this.ring.length;
  }
  add(interval: number): void {
    if (this.ring.length >= this.max) {
      const old = this.ring[this.head];
      this.sum -= old;
      this.squaredSum -= old * old;
      this.ring[this.head] = interval;
      this.head = (this.head + 1) % this.max;
    } else {
      this.ring.push(interval);
    }
    this.sum += interval;
    this.squaredSum += interval * interval;
  }
  get mean(): number {
    return this.sum / this.ring.length;
  }
  get stdDeviation(): number {
    const m = this.mean;
    return Math.sqrt(Math.max(0, this.squaredSum / this.ring.length - m * m));
  }
}

export function createPhiAccrualDetector(clock: Clock, options: PhiAccrualOptions = {}): PhiAccrualDetector {
  const o = { ...PHI_DEFAULTS, ...options };
  if (o.maxSampleSize < 1) throw new RangeError("maxSampleSize must be >= 1");
  if (o.minStdDeviationMs <= 0) throw new RangeError("minStdDeviationMs must be > 0");
  function seeded(): IntervalHistory {
    const h = new IntervalHistory(o.maxSampleSize);
    const mean = o.firstHeartbeatEstimateMs;
    // Akka divides a Long here; keep the integer division so the numbers match exactly.
    const std = Math.trunc(mean / 4);
    h.add(mean - std);
    h.add(mean + std);
    return h;
  }
  let history = seeded();
  let last: number | null = null;

  function phiAt(now: number): number {
    if (last === null) return 0; // nothing heard yet: treated as healthy, as Akka does
    const std = Math.max(history.stdDeviation, o.minStdDeviationMs);
    return phiOf(now - last, history.mean + o.acceptableHeartbeatPauseMs, std);
  }

  return {
    get isMonitoring() {
      return last !== null;
    },
    get sampleCount() {
      return history.size;
    },
    heartbeat: function heartbeat() {
      const now = clock.now();
      if (last === null) history = seeded();
      else if (phiAt(now) < o.threshold) history.add(now - last);
      last = now;
    },
    phi: function phi() {
      return phiAt(clock.now());
    },
    isAvailable: function isAvailable() {
      return phiAt(clock.now()) < o.threshold;
    },
  };
}
