// Clock and random source handed to every pure algorithm in src/core (they never read time or entropy themselves).

/** Monotonic milliseconds. Real clocks use performance.now(); tests use a fake one. */
export interface Clock {
  now(): number;
}

/** Uniform float in [0, 1). */
export interface Rng {
  next(): number;
}

export const systemClock: Clock = { now: () => performance.now() };
export const wallClock: Clock = { now: () => Date.now() };
export const systemRng: Rng = { next: () => Math.random() };

/** Small, fast, seedable generator (mulberry32) for simulations and reproducible picks. */
export function createSeededRng(seed: number): Rng {
  let s = seed >>> 0;
  return {
    next: function nextSeeded() {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
