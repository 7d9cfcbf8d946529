// Seasonal naive forecast: the value one season ago. The baseline Holt-Winters has to beat.
import type { FittedModel, Forecaster } from "./types.ts";

export const seasonalNaive: Forecaster = {
  name: "seasonal-naive",
  minHistory: (season) => season + 1,
  fit: function fitSeasonalNaive(series, season) {
    const n = series.length;
    const fitted = new Float64Array(n).fill(Number.NaN);
    for (let t = season; t < n; t++) fitted[t] = series[t - season];
    const model: FittedModel = {
      fitted,
      predict: (horizon) => Array.from({ length: horizon }, (_, i) => series[n - season + (i % season)]),
      // Each further season ahead reuses the same past value, so errors add up season by season.
      varianceFactor: (h) => Math.floor((h - 1) / season) + 1,
    };
    return model;
  },
};
