// Benchmark: the per-request cost of revision-weighted picking (a canary's traffic split) against plain picking,
// for the weight-aware algorithms, and the cost of deriving the split weights once per pool change.
// The split changes only the weights a pool is built with (src/core/deploy/split.ts), so the pick loop is the
// same code; this measures whether the resulting weights (fractional, one side much lighter) slow it down.
// Usage: bun scripts/bench/split-picks.ts [--endpoints N] [--percent P] (goal: ratio <= 1.05).
import { createPicker } from "../../src/core/balancing/index.ts";
import type { PoolEndpoint } from "../../src/core/balancing/picker.ts";
import { splitWeights } from "../../src/core/deploy/split.ts";
import { createSeededRng, systemClock } from "../../src/core/time.ts";

const GOAL = 1.05;
const BATCH = 20_000;
const ROUNDS = 15;
const args = process.argv.slice(2);
const opt = (name: string, d: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
const size = opt("--endpoints", 100);
const percent = opt("--percent", 10);
const ALGOS = ["weighted_round_robin", "random", "least_request", "consistent_hash", "maglev", "ip_hash"] as const;

const plain: PoolEndpoint[] = Array.from({ length: size }, (_, i) => ({ id: `10.0.0.${i}:8080`, address: `10.0.0.${i}`, port: 8080, weight: 1, active: 0 }));
// A canary: 1 in 5 endpoints runs the new revision.
const members = plain.map((e, i) => ({ weight: e.weight, eligible: true, inSplit: i % 5 === 0 }));
let t = Bun.nanoseconds();
const REBUILDS = 1_000;
let w: number[] | null = null;
for (let k = 0; k < REBUILDS; k++) w = splitWeights(members, percent);
const deriveUs = (Bun.nanoseconds() - t) / REBUILDS / 1e3;
const split: PoolEndpoint[] = plain.map((e, i) => ({ ...e, weight: w![i]! }));
// The same pool with operator weights (1-10, no split): what any weighted pool costs, the fair baseline for
// algorithms with a fast path for equal weights.
const wr = createSeededRng(7);
const weighted: PoolEndpoint[] = plain.map((e) => ({ ...e, weight: 1 + Math.floor(wr.next() * 10) }));

const keyRng = createSeededRng(8);
const keys = Uint32Array.from({ length: 4096 }, () => Math.floor(keyRng.next() * 4294967296));
let sink = 0;
const nsPerPick = (algorithm: (typeof ALGOS)[number], pool: PoolEndpoint[]) => {
  const p = createPicker(algorithm, { rng: createSeededRng(1), clock: systemClock });
  p.update(pool);
  const ctx = { hash: 0 };
  const start = Bun.nanoseconds();
  for (let k = 0; k < BATCH; k++) {
    ctx.hash = keys[k & 4095]!;
    sink += p.pick(ctx);
  }
  return (Bun.nanoseconds() - start) / BATCH;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(`revision-weighted vs plain picking, ${size} endpoints (1 in 5 of the new revision at ${percent}%), median of ${ROUNDS} alternating batches of ${BATCH}`);
console.log(`deriving the split weights: ${deriveUs.toFixed(2)} us per pool change`);
console.log("algorithm              equal ns  weighted ns  split ns  split/equal  split/weighted  goal (split/weighted)");
for (const a of ALGOS) {
  const p: number[] = [];
  const q: number[] = [];
  const s: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    p.push(nsPerPick(a, plain));
    q.push(nsPerPick(a, weighted));
    s.push(nsPerPick(a, split));
  }
  const r1 = median(s) / median(p);
  const r2 = median(s) / median(q);
  console.log(`${a.padEnd(22)} ${median(p).toFixed(1).padStart(8)} ${median(q).toFixed(1).padStart(12)} ${median(s).toFixed(1).padStart(9)} ${r1.toFixed(3).padStart(12)} ${r2.toFixed(3).padStart(15)}  ${r2 <= GOAL ? "ok" : "MISS"}`);
}
if (sink === 0.5) console.log("");
