// Additive Holt-Winters (level, trend, seasonal) with smoothing parameters chosen by a small grid search on one-step error.
import type { FittedModel, Forecaster } from "./types.ts";

export interface HoltWintersParams {
  readonly alpha: number;
  readonly beta: number;
  readonly gamma: number;
}

// A coarse grid is enough: the error surface is flat near its minimum and the search must stay
// cheap (it runs once per app per forecast refresh, ~60 passes over a few hundred points).
const ALPHAS = [0.05, 0.1, 0.2, 0.35, 0.5];
const BETAS = [0, 0.01, 0.05];
const GAMMAS = [0.05, 0.15, 0.3, 0.5];

interface Run {
  level: number;
  trend: number;
  seasonal: Float64Array;
  sse: number;
}

function mean(series: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += series[i];
  return s / (to - from);
}

/** Runs the recursions over the series; when `fitted` is given, stores each one-step prediction. */
function runHoltWinters(series: ArrayLike<number>, m: number, p: HoltWintersParams, fitted?: Float64Array): Run {
  const mean1 = mean(series, 0, m);
  const mean2 = mean(series, m, 2 * m);
  let level = mean1;
  let trend = (mean2 - mean1) / m;
  const seasonal = new Float64Array(m);
  for (let i = 0; i < m; i++) seasonal[i] = (series[i] - mean1 + (series[i + m] - mean2)) / 2;
  let sse = 0;
  for (let t = 0; t < series.length; t++) {
    const y = series[t];
    const k = t % m;
    const prediction = level + trend + seasonal[k];
    if (fitted) fitted[t] = prediction;
    // The first season seeded the components, so its errors would flatter every parameter set alike.
    if (t >= m) sse += (y - prediction) ** 2;
    const previous = level;
    level = p.alpha * (y - seasonal[k]) + (1 - p.alpha) * (level + trend);
    trend = p.beta * (level - previous) + (1 - p.beta) * trend;
    seasonal[k] = p.gamma * (y - level) + (1 - p.gamma) * seasonal[k];
  }
  return { level, trend, seasonal, sse };
}

export function chooseParams(series: ArrayLike<number>, m: number): HoltWintersParams {
  let best: HoltWintersParams = { alpha: 0.2, beta: 0.01, gamma: 0.15 };
  let bestSse = Infinity;
  for (const alpha of ALPHAS)
    for (const beta of BETAS)
      for (const gamma of GAMMAS) {
        const { sse } = runHoltWinters(series, m, { alpha, beta, gamma });
        if (sse < bestSse) {
          bestSse = sse;
          best = { alpha, beta, gamma };
        }
      }
  return best;
}

export function createHoltWinters(fixed?: HoltWintersParams): Forecaster {
  return {
    name: "holt-winters",
    minHistory: (season) => 2 * season,
    fit: function fitHoltWinters(series, m) {
      const params = fixed ?? chooseParams(series, m);
      const fitted = new Float64Array(series.length);
      const run = runHoltWinters(series, m, params, fitted);
      // The first season's predictions use components seeded from that same season.
      fitted.fill(Number.NaN, 0, Math.min(m, series.length));
      const n = series.length;
      const model: FittedModel = {
        fitted,
        predict: (horizon) => Array.from({ length: horizon }, (_, i) => run.level + (i + 1) * run.trend + run.seasonal[(n + i) % m]),
        // Hyndman's approximation for additive Holt-Winters: each earlier step's shock carries into step h.
        varianceFactor: (h) => {
          let f = 1;
          for (let j = 1; j < h; j++) f += (params.alpha * (1 + j * params.beta) + (j % m === 0 ? params.gamma * (1 - params.alpha) : 0)) ** 2;
          return f;
        },
      };
      return model;
    },
  };
}

export const holtWinters: Forecaster = createHoltWinters();
