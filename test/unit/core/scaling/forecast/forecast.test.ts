// Forecasters on a synthetic daily cycle: measured error, the default choice, the band and abstentions.
import { describe, expect, test } from "bun:test";
import { ABSTAIN_REASON, DEFAULT_FORECAST_METHOD, FORECASTERS, forecastSeries } from "../../../../../src/core/scaling/forecast/forecast.ts";
import { mape } from "../../../../../src/core/scaling/forecast/error.ts";
import { createSeededRng } from "../../../../../src/core/time.ts";
import { dailySeries } from "./daily-series.ts";

const PER_DAY = 288; // 5-minute buckets
const SEEDS = [1, 2, 3, 4, 5];

/** Mean next-day MAPE of a method fitted on three days, over several seeds. */
function nextDayMape(method: string, noise: number, trendPerDay = 0): number {
  let total = 0;
  for (const seed of SEEDS) {
    const s = dailySeries(createSeededRng(seed), { days: 4, perDay: PER_DAY, base: 200, amplitude: 80, noise, trendPerDay });
    const model = FORECASTERS[method].fit(s.slice(0, 3 * PER_DAY), PER_DAY);
    total += mape(s.slice(3 * PER_DAY), model.predict(PER_DAY), PER_DAY);
  }
  return total / SEEDS.length;
}

describe("measured error on a daily cycle with noise", () => {
  test("Holt-Winters forecasts the next day within 4% MAPE at 2.5% noise", () => {
    expect(nextDayMape("holt-winters", 5)).toBeLessThan(4);
  });

  for (const [noise, trend] of [[5, 0], [10, 0], [5, 10]] as const) {
    test(`the default (Holt-Winters) beats seasonal naive: noise ${noise}, trend ${trend}/day`, () => {
      expect(DEFAULT_FORECAST_METHOD).toBe("holt-winters");
      expect(nextDayMape("holt-winters", noise, trend)).toBeLessThan(nextDayMape("seasonal-naive", noise, trend));
    });
  }
});

describe("forecastSeries", () => {
  const series = dailySeries(createSeededRng(7), { days: 3, perDay: PER_DAY, base: 200, amplitude: 80, noise: 5 });

  test("returns a band around the mean that widens with the horizon", () => {
    const f = forecastSeries(series, { season: PER_DAY, horizon: 12, maxMape: 20 });
    expect(f.ok).toBe(true);
    if (!f.ok) return;
    expect(f.mean.length).toBe(12);
    expect(f.residualStd).toBeGreaterThan(3);
    expect(f.residualStd).toBeLessThan(8);
    for (let i = 0; i < 12; i++) {
      expect(f.lower[i]).toBeLessThan(f.mean[i]);
      expect(f.upper[i]).toBeGreaterThan(f.mean[i]);
    }
    expect(f.upper[11] - f.lower[11]).toBeGreaterThan(f.upper[0] - f.lower[0]);
  });

  test("about 95% of the next hour's actual values fall inside the band", () => {
    let inside = 0;
    let total = 0;
    for (const seed of SEEDS) {
      const s = dailySeries(createSeededRng(seed), { days: 4, perDay: PER_DAY, base: 200, amplitude: 80, noise: 5 });
      const f = forecastSeries(s.slice(0, 3 * PER_DAY), { season: PER_DAY, horizon: 12, maxMape: 20 });
      if (!f.ok) throw new Error(f.reason);
      for (let i = 0; i < 12; i++) {
        const actual = s[3 * PER_DAY + i];
        if (actual >= f.lower[i] && actual <= f.upper[i]) inside++;
        total++;
      }
    }
    expect(inside / total).toBeGreaterThan(0.85);
  });

  test("abstains when the history is shorter than two seasons", () => {
    const f = forecastSeries(series.slice(0, PER_DAY + 10), { season: PER_DAY, horizon: 3, maxMape: 20 });
    expect(f).toMatchObject({ ok: false, reason: ABSTAIN_REASON.historyTooShort, detail: "298 of 576 samples" });
  });

  test("seasonal naive needs only one season and a point", () => {
    const f = forecastSeries(series.slice(0, PER_DAY + 10), { method: "seasonal-naive", season: PER_DAY, horizon: 3, maxMape: 20 });
    expect(f.ok).toBe(true);
  });

  test("abstains when the recent MAPE is above the bound", () => {
    const noisy = dailySeries(createSeededRng(3), { days: 3, perDay: PER_DAY, base: 100, amplitude: 10, noise: 60 });
    const f = forecastSeries(noisy, { season: PER_DAY, horizon: 3, maxMape: 20 });
    expect(f).toMatchObject({ ok: false, reason: ABSTAIN_REASON.mapeAboveBound });
    expect(!f.ok && f.mape).toBeGreaterThan(20);
  });

  test("the contrast: the same noisy series passes a looser bound", () => {
    const noisy = dailySeries(createSeededRng(3), { days: 3, perDay: PER_DAY, base: 100, amplitude: 10, noise: 60 });
    expect(forecastSeries(noisy, { season: PER_DAY, horizon: 3, maxMape: 500 }).ok).toBe(true);
  });

  test("an unknown method abstains with its name", () => {
    expect(forecastSeries(series, { method: "arima", season: PER_DAY, horizon: 3, maxMape: 20 })).toMatchObject({ ok: false, reason: ABSTAIN_REASON.unknownMethod });
  });
});
