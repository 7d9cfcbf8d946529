// Bounded loads for keyed policies (Mirrokni, Thorup, Zadimoghaddam, SODA 2018; Envoy and HAProxy's
// hash_balance_factor): a host takes a request only while that keeps it within `factor` times its weighted
// share of the in-flight total, counting the new request:
//   admits(i)  <=>  active[i] + 1 <= capacity(i) = ceil(factor * (total + 1) * weight[i] / sumWeight)
// Since the capacities sum to at least factor * (total + 1) > total, some host always admits when
// factor >= 1, so a walk that visits every host always ends on one that admits: the cap is never broken.
// Counts are the policy's own (seeded from `active` on update, moved by onStart/onDone), so they are the
// in-flight load of this balancer worker.

export const MIN_HASH_BALANCE_FACTOR = 1;

export class LoadBound {
  active = new Float64Array(0);
  weight = new Float64Array(0);
  total = 0;
  sumWeight = 0;
  /** Per-host visit marks for one walk: `seen[i] === epoch` means visited; no clearing, no allocation. */
  seen = new Uint32Array(0);
  epoch = 0;

  constructor(readonly factor: number) {
    if (!(Number.isFinite(factor) && factor >= MIN_HASH_BALANCE_FACTOR)) {
      throw new RangeError(`hash_balance_factor must be a number >= ${MIN_HASH_BALANCE_FACTOR}, got ${factor}`);
    }
  }

  reset(endpoints: ReadonlyArray<{ readonly weight: number; readonly active: number }>): void {
    const n = endpoints.length;
    this.active = new Float64Array(n);
    this.weight = new Float64Array(n);
    this.seen = new Uint32Array(n);
    this.epoch = 0;
    this.total = 0;
    this.sumWeight = 0;
    for (let i = 0; i < n; i++) {
      const e = endpoints[i]!;
      this.active[i] = Math.max(0, e.active);
      this.weight[i] = e.weight;
      this.total += this.active[i]!;
      this.sumWeight += e.weight;
    }
  }

  capacity(i: number): number {
    return Math.ceil((this.factor * (this.total + 1) * this.weight[i]!) / this.sumWeight);
  }

  admits(i: number): boolean {
    return this.active[i]! + 1 <= this.capacity(i);
  }

  /** Starts a walk: returns its epoch; `visit` marks a host and says whether it was new. */
  begin(): number {
    if (++this.epoch === 0xffffffff) {
      this.seen.fill(0);
      this.epoch = 1;
    }
    return this.epoch;
  }

  visit(i: number): boolean {
    if (this.seen[i] === this.epoch) return false;
    this.seen[i] = this.epoch;
    return true;
  }

  start(i: number): void {
    if (i < 0 || i >= this.active.length) return;
    this.active[i] += 1;
    this.total += 1;
  }

  done(i: number): void {
    if (i < 0 || i >= this.active.length || this.active[i]! <= 0) return;
    this.active[i] -= 1;
    this.total -= 1;
  }
}
