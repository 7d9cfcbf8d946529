// Passive outlier detection (Envoy defaults): consecutive 5xx or gateway failures eject an endpoint for a while.
//
// Per endpoint:   active --(N consecutive failures, budget allows)--> ejected(until)
//                 ejected --(tick at or after `until`)--> active (counters cleared)
// Ejection lasts baseEjectionMs x times ejected, capped at maxEjectionMs; the multiplier decays by one for
// every intervalMs an endpoint stays in rotation. No more than maxEjectionPercent of endpoints are ejected
// at once, but always at least one may be. The detector never reads the time: callers pass `now`.
// "5xx" counts every 5xx and every gateway failure; "gateway" counts 502/503/504 and connect errors,
// resets and timeouts (Envoy's view with local-origin errors not split out).

export type GatewayFailure = "connect_error" | "reset" | "timeout";
/** An HTTP status code, or a failure before any response. */
export type Outcome = number | GatewayFailure;

export const OutlierReason = {
  consecutive5xx: "consecutive_5xx",
  consecutiveGatewayFailure: "consecutive_gateway_failure",
  maxEjectionPercent: "max_ejection_percent",
  ejectionElapsed: "ejection_time_elapsed",
} as const;
export type OutlierReason = (typeof OutlierReason)[keyof typeof OutlierReason];

export interface OutlierDecision {
  /** "skip": it qualified for ejection but the ejection budget is spent. */
  readonly action: "eject" | "uneject" | "skip";
  readonly id: string;
  readonly reason: OutlierReason;
  /** eject: clock ms when it comes back. */
  readonly untilMs: number;
  readonly ejectionMs: number;
  readonly timesEjected: number;
}

export interface OutlierOptions {
  consecutive5xx?: number;
  consecutiveGatewayFailure?: number;
  baseEjectionMs?: number;
  maxEjectionMs?: number;
  maxEjectionPercent?: number;
  intervalMs?: number;
}

export const OUTLIER_DEFAULTS: Required<OutlierOptions> = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 10,
  intervalMs: 10_000,
};

interface State {
  fiveXx: number;
  gateway: number;
  ejectedUntil: number; // 0 = in rotation
  timesEjected: number;
  lastDecay: number;
}

export interface OutlierDetector {
  /** Sets the endpoint set; state of ids no longer present is dropped, new ids start clean. */
  setEndpoints(ids: readonly string[], now: number): void;
  /** One request's outcome; a decision only when something changed (or was refused). */
  record(id: string, outcome: Outcome, now: number): OutlierDecision | undefined;
  /** Un-ejects endpoints whose time is up and decays multipliers; call at least every intervalMs. */
  tick(now: number): OutlierDecision[];
  /** Clock ms until which `id` is ejected, 0 if it is not. Feed to EndpointRecord.ejectedUntil. */
  ejectedUntil(id: string): number;
}

export function isGatewayFailure(outcome: Outcome): boolean {
  return typeof outcome === "string" || outcome === 502 || outcome === 503 || outcome === 504;
}

export function createOutlierDetector(options: OutlierOptions = {}): OutlierDetector {
  const o = { ...OUTLIER_DEFAULTS, ...options };
  const states = new Map<string, State>();
  let ejectedCount = 0;

  function eject(id: string, s: State, reason: OutlierReason, now: number): OutlierDecision {
    const budget = Math.max(1, Math.floor((states.size * o.maxEjectionPercent) / 100));
    if (ejectedCount >= budget) {
      // Counters stay high, so the next failure asks again once the budget frees up.
      return { action: "skip", id, reason: OutlierReason.maxEjectionPercent, untilMs: 0, ejectionMs: 0, timesEjected: s.timesEjected };
    }
    s.timesEjected++;
    const ejectionMs = Math.min(o.baseEjectionMs * s.timesEjected, o.maxEjectionMs);
    s.ejectedUntil = now + ejectionMs;
    ejectedCount++;
    return { action: "eject", id, reason, untilMs: s.ejectedUntil, ejectionMs, timesEjected: s.timesEjected };
  }

  return {
    setEndpoints(ids, now) {
      const keep = new Set(ids);
      for (const [id, s] of states) {
        if (keep.has(id)) continue;
        if (s.ejectedUntil > 0) ejectedCount--;
        states.delete(id);
      }
      for (const id of ids) {
        if (!states.has(id)) states.set(id, { fiveXx: 0, gateway: 0, ejectedUntil: 0, timesEjected: 0, lastDecay: now });
      }
    },
    record(id, outcome, now) {
      const s = states.get(id);
      if (s === undefined || s.ejectedUntil > 0) return undefined; // late answers from an ejected endpoint
      const gateway = isGatewayFailure(outcome);
      if (!gateway && (outcome as number) < 500) {
        s.fiveXx = 0;
        s.gateway = 0;
        return undefined;
      }
      s.fiveXx++;
      s.gateway = gateway ? s.gateway + 1 : 0;
      if (s.gateway >= o.consecutiveGatewayFailure) return eject(id, s, OutlierReason.consecutiveGatewayFailure, now);
      if (s.fiveXx >= o.consecutive5xx) return eject(id, s, OutlierReason.consecutive5xx, now);
      return undefined;
    },
    tick(now) {
      const out: OutlierDecision[] = [];
      for (const [id, s] of states) {
        if (s.ejectedUntil > 0) {
          if (now < s.ejectedUntil) continue;
          s.ejectedUntil = 0;
          s.fiveXx = 0;
          s.gateway = 0;
          s.lastDecay = now;
          ejectedCount--;
          out.push({ action: "uneject", id, reason: OutlierReason.ejectionElapsed, untilMs: 0, ejectionMs: 0, timesEjected: s.timesEjected });
        } else if (s.timesEjected > 0 && now - s.lastDecay >= o.intervalMs) {
          s.timesEjected--;
          s.lastDecay = now;
        } else if (s.timesEjected === 0) {
          s.lastDecay = now;
        }
      }
      return out;
    },
    ejectedUntil(id) {
      return states.get(id)?.ejectedUntil ?? 0;
    },
  };
}
