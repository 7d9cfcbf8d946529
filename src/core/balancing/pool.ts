// Turns endpoint records into the eligible array pickers see: health, draining, ejection, panic mode, slow start.
//
// Order of rules, for each record not draining and with configured weight > 0:
//   passing -> weight; warning -> weight * warningWeightFactor; critical or ejected -> excluded.
//   Panic: when eligible endpoints are fewer than panicThresholdPercent of the non-draining ones, health and
//   ejection are ignored and every non-draining endpoint takes traffic (better some errors than none at all).
//   Slow start (Envoy's): for windowMs after max(addedAt, recoveredAt) the weight is scaled by
//   max(minWeightPercent / 100, (elapsed / windowMs) ^ (1 / aggression)).
// Backup endpoints (HAProxy `backup` servers, Envoy's second priority level) take traffic only while no primary
// endpoint is eligible (all critical, ejected, draining or weight 0), or while the pool is failed over on purpose
// (`failover`, set by the recovery ladder); panic mode then applies within the backups.
// Connection limits change per request, so they are NOT applied here: the pool keeps endpoints at their
// limit and `pickAdmitted` checks the live count after each pick, re-picking a bounded number of times
// (with a re-hashed key, so keyed policies move on too). The pool is rebuilt on catalog changes and at
// `refreshAt` (an ejection ending, the next slow-start step).
import { rehash } from "../hashing/hash.ts";
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export type HealthStatus = "passing" | "warning" | "critical";

export interface EndpointRecord {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  /** Configured weight; 0 takes the endpoint out of rotation. */
  readonly weight: number;
  readonly health: HealthStatus;
  readonly draining: boolean;
  /** Clock ms until which outlier detection ejected it; absent or past = not ejected. */
  readonly ejectedUntil?: number;
  /** Clock ms when it joined the pool; absent = no slow start (e.g. present at boot). */
  readonly addedAt?: number;
  /** Clock ms of its last transition back to passing. */
  readonly recoveredAt?: number;
  /** Live in-flight count, maintained by the data plane; the one source of truth for limits. */
  active: number;
  /** Circuit breaker: most concurrent requests or connections; absent or 0 = unlimited. */
  readonly maxConnections?: number;
  /** A backup endpoint: used only while no primary is eligible, or while the pool is failed over. */
  readonly backup?: boolean;
  /** The app revision it runs (replicas only), for a rollout's traffic split. */
  readonly revision?: number;
}

export interface SlowStartOptions {
  windowMs?: number;
  aggression?: number;
  minWeightPercent?: number;
  /** How often to rebuild while some endpoint is ramping. */
  stepMs?: number;
}

export interface PoolOptions {
  warningWeightFactor?: number;
  /** 0 disables panic mode. */
  panicThresholdPercent?: number;
  slowStart?: SlowStartOptions;
  /** Route to the backup endpoints even though primaries are eligible (when there are usable backups). */
  failover?: boolean;
}

export const DEFAULT_POOL_OPTIONS = {
  warningWeightFactor: 0.5,
  panicThresholdPercent: 50,
  slowStart: { windowMs: 0, aggression: 1, minWeightPercent: 10, stepMs: 1_000 },
} as const;

/** What a picker sees; `active` reads and writes through to the record so there is one live count. */
export class EligibleEndpoint implements PoolEndpoint {
  constructor(
    readonly record: EndpointRecord,
    /** Index of the record in the array given to buildPool. */
    readonly source: number,
    public weight: number,
  ) {}
  get id(): string {
    return this.record.id;
  }
  get address(): string {
    return this.record.address;
  }
  get port(): number {
    return this.record.port;
  }
  get active(): number {
    return this.record.active;
  }
  set active(v: number) {
    this.record.active = v;
  }
  get maxConnections(): number | undefined {
    return this.record.maxConnections;
  }
  get revision(): number | undefined {
    return this.record.revision;
  }
}

/** What admission reads of an endpoint: its live count and its limit. */
export interface Admittable {
  readonly active: number;
  readonly maxConnections?: number | undefined;
}

export interface PoolView {
  readonly endpoints: EligibleEndpoint[];
  readonly panic: boolean;
  /** Eligible share of non-draining endpoints, 0..100 (100 when there are none). */
  readonly healthyPercent: number;
  /** Clock ms at which the view goes stale by itself (Infinity when it does not). */
  readonly refreshAt: number;
  /** The endpoints are the backup set (no primary was eligible, or the pool is failed over). */
  readonly onBackup: boolean;
}

export function buildPool(records: readonly EndpointRecord[], now: number, opts: PoolOptions = {}): PoolView {
  let backups = 0;
  let primaryEligible = 0;
  let backupCandidates = 0;
  for (const r of records) {
    if (r.backup) backups++;
    if (r.draining || !(r.weight > 0)) continue;
    if (r.backup) backupCandidates++;
    else if (r.health !== "critical" && !(r.ejectedUntil !== undefined && r.ejectedUntil > now)) primaryEligible++;
  }
  if (backups === 0) return tier(records, now, opts, false);
  const onBackup = backupCandidates > 0 && (opts.failover === true || primaryEligible === 0);
  return tier(records, now, opts, onBackup);
}

/** The view over one tier (primaries or backups) of the records. */
function tier(records: readonly EndpointRecord[], now: number, opts: PoolOptions, backup: boolean): PoolView {
  const warningFactor = opts.warningWeightFactor ?? DEFAULT_POOL_OPTIONS.warningWeightFactor;
  const panicPercent = opts.panicThresholdPercent ?? DEFAULT_POOL_OPTIONS.panicThresholdPercent;
  const slow = { ...DEFAULT_POOL_OPTIONS.slowStart, ...opts.slowStart };
  let refreshAt = Infinity;

  let candidates = 0;
  let healthy = 0;
  for (const r of records) {
    if (r.draining || !(r.weight > 0)) continue;
    const ejected = r.ejectedUntil !== undefined && r.ejectedUntil > now;
    // An ejection ending anywhere may move traffic between tiers: the view goes stale then.
    if (ejected) refreshAt = Math.min(refreshAt, r.ejectedUntil!);
    if ((r.backup === true) !== backup) continue;
    candidates++;
    if (!ejected && r.health !== "critical") healthy++;
  }
  const healthyPercent = candidates === 0 ? 100 : (100 * healthy) / candidates;
  const panic = candidates > 0 && healthyPercent < panicPercent;

  const endpoints: EligibleEndpoint[] = [];
  records.forEach((r, source) => {
    if ((r.backup === true) !== backup) return;
    if (r.draining || !(r.weight > 0)) return;
    const ejected = r.ejectedUntil !== undefined && r.ejectedUntil > now;
    if (!panic && (ejected || r.health === "critical")) return;
    let weight = r.weight;
    if (r.health === "warning" && !panic) weight *= warningFactor;
    const since = Math.max(r.addedAt ?? -Infinity, r.recoveredAt ?? -Infinity);
    if (slow.windowMs > 0 && since > -Infinity && now - since < slow.windowMs) {
      const elapsed = Math.max(0, now - since);
      const ramp = Math.pow(elapsed / slow.windowMs, 1 / slow.aggression);
      weight *= Math.max(slow.minWeightPercent / 100, ramp);
      refreshAt = Math.min(refreshAt, now + slow.stepMs, since + slow.windowMs);
    }
    endpoints.push(new EligibleEndpoint(r, source, weight));
  });
  return { endpoints, panic, healthyPercent, refreshAt, onBackup: backup };
}

/** True when the endpoint's circuit breaker is open: it already holds its maximum of requests. */
export function atLimit(e: Admittable): boolean {
  const max = e.maxConnections;
  return max !== undefined && max > 0 && e.active >= max;
}

/**
 * Picks an endpoint under its connection limit: up to `maxAttempts` picks, re-hashing the key between
 * them; -1 when the pool is empty or every attempt hit a full endpoint (answer "overflow", as Envoy does).
 * `ctx.hash` is restored before returning. Allocates nothing.
 */
export function pickAdmitted(
  picker: Picker,
  ctx: PickContext,
  endpoints: readonly Admittable[],
  maxAttempts = 3,
): number {
  const key = ctx.hash;
  let found = -1;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const i = picker.pick(ctx);
    if (i < 0) break;
    if (!atLimit(endpoints[i]!)) {
      found = i;
      break;
    }
    ctx.hash = rehash(key, attempt + 1);
  }
  ctx.hash = key;
  return found;
}
