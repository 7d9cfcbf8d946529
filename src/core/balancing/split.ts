// A rollout's traffic split as a two-level pick: first the side (the split's revision or the rest) by the split's
// percent, then the balancer's own algorithm among that side's endpoints, so round_robin, least_request, peak_ewma,
// the hash policies... keep their behaviour inside a revision and the revision's share is the percent whatever the
// replica counts and weights (operator weights, locality, slow start, health) on either side.
//
// The side is chosen so:
// - unkeyed policies: smooth weighted round robin over the two sides (nginx's, with weights percent and 100 -
//   percent), so a 10% step is one pick in ten at any rate, with no randomness to drift over a short window;
// - keyed policies (ip_hash, consistent_hash, maglev) with a key: by a remix of the key's hash into 10,000 buckets,
//   so a key stays on one revision while the percent holds (affinity is what a hash balancer promises) and moves
//   only one way as the percent grows; exact over many keys, not over one heavy key. A request without its key
//   falls back to the round robin.
//
// Contract: `setSplit` takes effect at the next `update`. With no split, or a side with no eligible endpoint
// (traffic follows what exists rather than going nowhere), every pick is the plain picker's. Tables are built in
// update; pick and the feedback calls allocate nothing.
import { mix32 } from "../hashing/hash.ts";
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export interface TrafficSplit {
  /** The revision whose endpoints make the split side. */
  readonly revision: number;
  /** Its share of the picks, 0..100. */
  readonly percent: number;
}

export interface SplitPicker extends Picker {
  /** Applied from the next update(); null: one pool. */
  setSplit(split: TrafficSplit | null): void;
  /** The split in force now (null while one side is empty, or none is set). */
  active(): TrafficSplit | null;
}

/** Buckets of the keyed choice: percent steps of 0.01 point. */
const BUCKETS = 10_000;
/** Decorrelates the side's bucket from the hash the policy then uses inside the side (a ring or a table). */
const SIDE_SALT = 0x5bd1e995;

/** `make` creates one picker of the balancer's algorithm: called three times (the whole pool and each side). */
export function createSplitPicker(make: () => Picker, opts: { readonly keyed: boolean }): SplitPicker {
  const whole = make();
  const s0 = make();
  const s1 = make();
  const keyed = opts.keyed;
  let wanted: TrafficSplit | null = null;
  let applied: TrafficSplit | null = null;
  // Per global index: which side (0 = the split's revision) and the index inside it.
  let sideOf = new Uint8Array(0);
  let localOf = new Int32Array(0);
  // Per side: local index -> global index.
  let g0 = new Int32Array(0);
  let g1 = new Int32Array(0);
  let w0 = 0;
  let w1 = 0;
  let c0 = 0;
  let c1 = 0;
  let threshold = 0;

  const pickSplit = function pickSplit(ctx: PickContext): number {
    let first: boolean;
    if (keyed && ctx.hash !== 0) {
      first = mix32((ctx.hash ^ SIDE_SALT) >>> 0) % BUCKETS < threshold;
    } else {
      c0 += w0;
      c1 += w1;
      first = c0 >= c1;
      if (first) c0 -= 100;
      else c1 -= 100;
    }
    // A side's picker answers -1 only when it has nothing to pick; the other side then serves.
    if (first) {
      const i = s0.pick(ctx);
      if (i >= 0) return g0[i]!;
      const j = s1.pick(ctx);
      return j >= 0 ? g1[j]! : -1;
    }
    const i = s1.pick(ctx);
    if (i >= 0) return g1[i]!;
    const j = s0.pick(ctx);
    return j >= 0 ? g0[j]! : -1;
  };
  const noop = () => {};
  const onStartSplit = function onStartSplit(index: number) {
    if (index >= 0 && index < sideOf.length) (sideOf[index] === 0 ? s0 : s1).onStart?.(localOf[index]!);
  };
  const onDoneSplit = function onDoneSplit(index: number, latencyMs: number, ok: boolean) {
    if (index >= 0 && index < sideOf.length) (sideOf[index] === 0 ? s0 : s1).onDone?.(localOf[index]!, latencyMs, ok);
  };
  const plainStart = whole.onStart ?? noop;
  const plainDone = whole.onDone ?? noop;

  // Without a split the calls go straight to the plain picker's functions (the pickers are closures, `this`-free):
  // a balancer outside a rollout pays nothing for this wrapper.
  const self: SplitPicker & { pick: Picker["pick"]; onStart: NonNullable<Picker["onStart"]>; onDone: NonNullable<Picker["onDone"]> } = {
    name: whole.name,
    setSplit(split) {
      wanted = split === null ? null : { revision: split.revision, percent: Math.min(100, Math.max(0, split.percent)) };
    },
    active: () => applied,
    update: function updateSplit(endpoints: readonly PoolEndpoint[]) {
      const split = wanted;
      let n0 = 0;
      if (split !== null) for (const e of endpoints) if (e.revision === split.revision) n0++;
      if (split === null || n0 === 0 || n0 === endpoints.length) {
        applied = null;
        whole.update(endpoints);
        self.pick = whole.pick;
        self.onStart = plainStart;
        self.onDone = plainDone;
        return;
      }
      if (applied === null || applied.percent !== split.percent || applied.revision !== split.revision) {
        // A new share starts the round robin afresh (as nginx does on reload); a pool rebuild under the same
        // share keeps it, so rebuilds (slow start, ejections) do not bend the share.
        c0 = 0;
        c1 = 0;
      }
      applied = split;
      w0 = split.percent;
      w1 = 100 - split.percent;
      threshold = Math.round(split.percent * (BUCKETS / 100));
      const n = endpoints.length;
      sideOf = new Uint8Array(n);
      localOf = new Int32Array(n);
      g0 = new Int32Array(n0);
      g1 = new Int32Array(n - n0);
      const p0: PoolEndpoint[] = [];
      const p1: PoolEndpoint[] = [];
      for (let i = 0; i < n; i++) {
        const e = endpoints[i]!;
        if (e.revision === split.revision) {
          localOf[i] = p0.length;
          g0[p0.length] = i;
          p0.push(e);
        } else {
          sideOf[i] = 1;
          localOf[i] = p1.length;
          g1[p1.length] = i;
          p1.push(e);
        }
      }
      s0.update(p0);
      s1.update(p1);
      self.pick = pickSplit;
      self.onStart = onStartSplit;
      self.onDone = onDoneSplit;
    },
    pick: whole.pick,
    onStart: plainStart,
    onDone: plainDone,
  };
  return self;
}
