// Benchmark: the per-request cost of revision-weighted picking (a canary's traffic split: the side first, then the
// algorithm inside it, src/core/balancing/split.ts) against plain picking of the same pool, for every algorithm;
// and the split picker with no split set (what every balancer runs outside a rollout) against a bare picker.
// Usage: bun scripts/bench/split-picks.ts [--endpoints N] [--percent P] (goal: split/plain <= 1.05).
import { ALGORITHMS, type Algorithm, createPicker, KEYED_ALGORITHMS } from "../../src/core/balancing/index.ts";
import type { Picker, PoolEndpoint } from "../../src/core/balancing/picker.ts";
import { createSplitPicker } from "../../src/core/balancing/split.ts";
import { createSeededRng, systemClock } from "../../src/core/time.ts";

const GOAL = 1.05;
const BATCH = 20_000;
const ROUNDS = 15;
const args = process.argv.slice(2);
const opt = (name: string, d: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
const size = opt("--endpoints", 100);
const percent = opt("--percent", 10);

// A canary: 1 in 5 endpoints runs the new revision (2), the rest revision 1.
const pool: PoolEndpoint[] = Array.from({ length: size }, (_, i) => ({ id: `10.0.0.${i}:8080`, address: `10.0.0.${i}`, port: 8080, weight: 1, active: 0, revision: i % 5 === 0 ? 2 : 1 }));

const keyRng = createSeededRng(8);
const keys = Uint32Array.from({ length: 4096 }, () => Math.floor(keyRng.next() * 4294967295) + 1);
let sink = 0;
const make = (a: Algorithm) => () => createPicker(a, { rng: createSeededRng(1), clock: systemClock });
const pickers = (a: Algorithm) => {
  const bare = make(a)();
  bare.update(pool);
  const unsplit = createSplitPicker(make(a), { keyed: KEYED_ALGORITHMS.includes(a) });
  unsplit.update(pool);
  const split = createSplitPicker(make(a), { keyed: KEYED_ALGORITHMS.includes(a) });
  split.setSplit({ revision: 2, percent });
  split.update(pool);
  return { bare, unsplit, split };
};
/** ns per pick, with the feedback calls the data plane makes for every pick it uses. */
const nsPerPick = (p: Picker) => {
  const ctx = { hash: 0 };
  const start = Bun.nanoseconds();
  for (let k = 0; k < BATCH; k++) {
    ctx.hash = keys[k & 4095]!;
    const i = p.pick(ctx);
    p.onStart?.(i);
    p.onDone?.(i, 1, true);
    sink += i;
  }
  return (Bun.nanoseconds() - start) / BATCH;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(`two-level split picking vs plain, ${size} endpoints (1 in 5 of the new revision at ${percent}%), pick + onStart + onDone, median of ${ROUNDS} alternating batches of ${BATCH}`);
console.log("algorithm              bare ns  no-split ns  split ns  no-split/bare  split/bare  goal (split/bare)");
for (const a of ALGORITHMS) {
  const ps = pickers(a);
  const b: number[] = [];
  const u: number[] = [];
  const s: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    b.push(nsPerPick(ps.bare));
    u.push(nsPerPick(ps.unsplit));
    s.push(nsPerPick(ps.split));
  }
  const r1 = median(u) / median(b);
  const r2 = median(s) / median(b);
  console.log(`${a.padEnd(22)} ${median(b).toFixed(1).padStart(7)} ${median(u).toFixed(1).padStart(12)} ${median(s).toFixed(1).padStart(9)} ${r1.toFixed(3).padStart(14)} ${r2.toFixed(3).padStart(11)}  ${r2 <= GOAL ? "ok" : "MISS"}`);
}
if (sink === 0.5) console.log("");
