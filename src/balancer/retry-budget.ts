// Retry budget: retries may add at most `ratio` of the request rate (plus a small floor), so retries cannot multiply an overload.
//
// Counts requests and retries in the current and previous one-second windows; a retry is allowed
// while retries over both windows stay under max(minPerSecond, ratio * requests) over both.

import type { Clock } from "../core/time.ts";

export interface RetryBudgetOptions {
  /** Fraction of requests that may be retried (default 0.2). */
  ratio?: number;
  /** Retries always allowed per second, so a quiet listener can still retry (default 3). */
  minPerSecond?: number;
}

export class RetryBudget {
  private readonly ratio: number;
  private readonly minPerSecond: number;
  private windowStart = 0;
  private reqNow = 0;
  private reqPrev = 0;
  private retNow = 0;
  private retPrev = 0;

  constructor(private readonly clock: Clock, opts: RetryBudgetOptions = {}) {
    this.ratio = opts.ratio ?? 0.2;
    this.minPerSecond = opts.minPerSecond ?? 3;
  }

  private roll(): void {
    const now = this.clock.now();
    if (now - this.windowStart < 1000) return;
    const skipped = now - this.windowStart >= 2000;
    this.reqPrev = skipped ? 0 : this.reqNow;
    this.retPrev = skipped ? 0 : this.retNow;
    this.reqNow = 0;
    this.retNow = 0;
    this.windowStart = now;
  }

  onRequest(): void {
    this.roll();
    this.reqNow++;
  }

  /** Takes one retry from the budget when available. */
  tryRetry(): boolean {
    this.roll();
    const allowed = Math.max(this.minPerSecond * 2, this.ratio * (this.reqNow + this.reqPrev));
    if (this.retNow + this.retPrev >= allowed) return false;
    this.retNow++;
    return true;
  }
}
