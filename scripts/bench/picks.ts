// Benchmark: nanoseconds per pick for every balancing algorithm over 1,000 endpoints (goal <= 200 ns).
// Usage: bun scripts/bench/picks.ts [--json] [--endpoints N]; the table goes to stderr when --json is given.
import { ALGORITHMS, createPicker } from "../../src/core/balancing/index.ts";
import type { PoolEndpoint } from "../../src/core/balancing/picker.ts";
import { createSeededRng, systemClock } from "../../src/core/time.ts";

const GOAL_NS = 200;
const BATCH = 20_000;
const BATCHES = 25;
// Bounds the whole run: each algorithm stops after this long even if batches remain.
const MAX_MS_PER_ALGORITHM = 1_500;

const args = process.argv.slice(2);
const json = args.includes("--json");
const sizeArg = args.indexOf("--endpoints");
const size = sizeArg >= 0 ? Number(args[sizeArg + 1]) : 1_000;

const weightRng = createSeededRng(7);
const endpoints: PoolEndpoint[] = Array.from({ length: size }, (_, i) => ({
  id: `10.0.${i >> 8}.${i & 255}:8080`,
  address: `10.0.${i >> 8}.${i & 255}`,
  port: 8080,
  weight: 1 + Math.floor(weightRng.next() * 10),
  active: 0,
}));
const keyRng = createSeededRng(8);
const keys = Uint32Array.from({ length: 4096 }, () => Math.floor(keyRng.next() * 4294967296));

interface Result {
  algorithm: string;
  endpoints: number;
  medianNsPerPick: number;
  p90NsPerPick: number;
  medianNsPerRequest: number;
  updateMs: number;
  batches: number;
  withinGoal: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

let sink = 0;
const results: Result[] = [];
for (const algorithm of ALGORITHMS) {
  const picker = createPicker(algorithm, { rng: createSeededRng(1), clock: systemClock });
  const t0 = Bun.nanoseconds();
  picker.update(endpoints);
  const updateMs = (Bun.nanoseconds() - t0) / 1e6;
  const ctx = { hash: 0 };
  const perPick: number[] = [];
  const perRequest: number[] = [];
  const deadline = performance.now() + MAX_MS_PER_ALGORITHM;
  for (let b = 0; b < BATCHES && performance.now() < deadline; b++) {
    let start = Bun.nanoseconds();
    for (let k = 0; k < BATCH; k++) {
      ctx.hash = keys[k & 4095]!;
      sink += picker.pick(ctx);
    }
    perPick.push((Bun.nanoseconds() - start) / BATCH);
    // A full request's policy work: pick, onStart, onDone (what load-aware policies really cost).
    const inFlight = new Int32Array(16).fill(-1);
    start = Bun.nanoseconds();
    for (let k = 0; k < BATCH; k++) {
      ctx.hash = keys[k & 4095]!;
      const i = picker.pick(ctx);
      picker.onStart?.(i);
      const old = inFlight[k & 15]!;
      if (old >= 0) picker.onDone?.(old, 20, true);
      inFlight[k & 15] = i;
    }
    for (const i of inFlight) if (i >= 0) picker.onDone?.(i, 20, true);
    perRequest.push((Bun.nanoseconds() - start) / BATCH);
  }
  const sorted = [...perPick].sort((a, b) => a - b);
  const med = median(perPick);
  results.push({
    algorithm,
    endpoints: size,
    medianNsPerPick: Math.round(med * 10) / 10,
    p90NsPerPick: Math.round(sorted[Math.floor(sorted.length * 0.9)]! * 10) / 10,
    medianNsPerRequest: Math.round(median(perRequest) * 10) / 10,
    updateMs: Math.round(updateMs * 100) / 100,
    batches: perPick.length,
    withinGoal: med <= GOAL_NS,
  });
}

const lines = [
  `picks over ${size} endpoints, ${BATCH} picks per batch, median of up to ${BATCHES} batches (goal <= ${GOAL_NS} ns/pick)`,
  "algorithm              ns/pick  p90 ns  ns/request(pick+start+done)  update ms  goal",
  ...results.map(
    (r) =>
      `${r.algorithm.padEnd(22)} ${r.medianNsPerPick.toFixed(1).padStart(7)} ${r.p90NsPerPick.toFixed(1).padStart(7)} ${r.medianNsPerRequest
        .toFixed(1)
        .padStart(28)} ${r.updateMs.toFixed(2).padStart(10)}  ${r.withinGoal ? "ok" : "MISS"}`,
  ),
];
if (sink === 0.5) lines.push(""); // keeps `sink` observable so picks are not optimised away
if (json) {
  console.error(lines.join("\n"));
  console.log(JSON.stringify({ goalNs: GOAL_NS, results }, null, 2));
} else {
  console.log(lines.join("\n"));
}
