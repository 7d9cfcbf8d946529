// TTL probe: the service pushes its own status; the check turns critical when no push arrives within ttlMs.
//
// Each push is also a heartbeat for a phi-accrual detector, so callers can see suspicion rise (phi)
// before the hard TTL expires.
import { createPhiAccrualDetector, type PhiAccrualOptions } from "../../core/health/phi-accrual.ts";
import type { Status } from "../../core/health/status.ts";
import { systemClock, type Clock } from "../../core/time.ts";
import { createCapture } from "../capture.ts";
import { OUTPUT_CAP_BYTES, ProbeOptionsError, type Probe, type ProbeResult } from "../probe.ts";

export type TtlPush = "pass" | "warn" | "fail";

export interface TtlProbeOptions {
  ttlMs: number;
  clock?: Clock;
  phi?: PhiAccrualOptions;
  /** "phi": also critical as soon as phi passes its threshold, before the TTL runs out (default "ttl"). */
  detector?: "ttl" | "phi";
}

export interface TtlProbe {
  probe: Probe;
  /** Records a pushed status; returns the result it stands for. */
  push(status: TtlPush, note?: string): ProbeResult;
  phi(): number;
  isAvailable(): boolean;
}

const PUSHED: Record<TtlPush, Status> = { pass: "passing", warn: "warning", fail: "critical" };

export function isTtlPush(value: unknown): value is TtlPush {
  return value === "pass" || value === "warn" || value === "fail";
}

export function createTtlProbe(options: TtlProbeOptions): TtlProbe {
  if (!(options.ttlMs > 0)) throw new ProbeOptionsError("ttlMs", "must be a positive number of milliseconds");
  const clock = options.clock ?? systemClock;
  const detector = createPhiAccrualDetector(clock, options.phi);
  let last: { at: number; status: Status; output: string } | undefined;

  function current(): ProbeResult {
    const now = clock.now();
    if (!last) return { status: "critical", output: "TTL check has not received a push yet", latencyMs: 0 };
    const age = now - last.at;
    if (age > options.ttlMs) {
      return { status: "critical", output: `TTL expired: last push ${Math.round(age)} ms ago (ttl ${options.ttlMs} ms); phi ${detector.phi().toFixed(2)}`, latencyMs: 0 };
    }
    if (options.detector === "phi" && !detector.isAvailable()) {
      return { status: "critical", output: `heartbeat suspected lost: phi ${detector.phi().toFixed(2)} after ${Math.round(age)} ms without a push`, latencyMs: 0 };
    }
    return { status: last.status, output: last.output, latencyMs: 0 };
  }

  return {
    probe: async function ttlProbe() {
      return current();
    },
    push: function pushTtl(status, note = "") {
      if (!isTtlPush(status)) throw new ProbeOptionsError("status", `"${String(status)}" is not pass, warn or fail`);
      const cap = createCapture(OUTPUT_CAP_BYTES);
      cap.push(new TextEncoder().encode(note));
      detector.heartbeat();
      last = { at: clock.now(), status: PUSHED[status], output: cap.text() };
      return current();
    },
    phi: () => detector.phi(),
    isAvailable: () => detector.isAvailable(),
  };
}
