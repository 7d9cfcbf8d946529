// Synthetic load with a daily cycle, a slow trend and seeded Gaussian noise, shared by the forecast tests.
import type { Rng } from "../../../../../src/core/time.ts";

export interface DailySeriesOptions {
  readonly days: number;
  /** Samples per day (season length). */
  readonly perDay: number;
  readonly base: number;
  readonly amplitude: number;
  /** Noise standard deviation. */
  readonly noise: number;
  /** Change of the base per day. */
  readonly trendPerDay?: number;
}

function gaussian(rng: Rng): number {
  // Box-Muller; 1 - next() keeps the log argument above 0.
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

export function dailySeries(rng: Rng, o: DailySeriesOptions): number[] {
  const out: number[] = [];
  for (let t = 0; t < o.days * o.perDay; t++) {
    const phase = (2 * Math.PI * (t % o.perDay)) / o.perDay;
    // A morning peak and a smaller evening one: not a pure sine, so the season has to be learnt.
    const shape = Math.sin(phase - Math.PI / 2) + 0.4 * Math.sin(2 * phase);
    const trend = ((o.trendPerDay ?? 0) * t) / o.perDay;
    out.push(Math.max(0, o.base + trend + o.amplitude * shape + o.noise * gaussian(rng)));
  }
  return out;
}
