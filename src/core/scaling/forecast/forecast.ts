// Forecast with a confidence band and its recent error, or an explained abstention.
import { mape, residualStd } from "./error.ts";
import { holtWinters } from "./holt-winters.ts";
import { seasonalNaive } from "./seasonal-naive.ts";
import type { Forecaster } from "./types.ts";

export const FORECASTERS: Readonly<Record<string, Forecaster>> = {
  "holt-winters": holtWinters,
  "seasonal-naive": seasonalNaive,
};

/** Holt-Winters had the lower MAPE on the synthetic daily cycle (see forecast.test.ts). */
export const DEFAULT_FORECAST_METHOD = "holt-winters";

export interface ForecastOptions {
  readonly method?: string;
  /** Season length in samples. */
  readonly season: number;
  readonly horizon: number;
  /** Abstain above this MAPE (percent). */
  readonly maxMape: number;
  /** Points at the end of the series the MAPE is taken over (one season by default). */
  readonly mapeWindow?: number;
  /** Band half-width in residual standard deviations (1.96: ~95% under normal errors). */
  readonly z?: number;
}

export const ABSTAIN_REASON = {
  historyTooShort: "history-too-short",
  mapeAboveBound: "mape-above-bound",
  unknownMethod: "unknown-method",
} as const;

export type ForecastOutcome =
  | {
      readonly ok: true;
      readonly method: string;
      readonly mean: number[];
      readonly lower: number[];
      readonly upper: number[];
      readonly residualStd: number;
      readonly mape: number;
    }
  | {
      readonly ok: false;
      readonly method: string;
      readonly reason: (typeof ABSTAIN_REASON)[keyof typeof ABSTAIN_REASON];
      readonly detail: string;
      readonly mape?: number;
    };

export function forecastSeries(series: ArrayLike<number>, options: ForecastOptions): ForecastOutcome {
  const method = options.method ?? DEFAULT_FORECAST_METHOD;
  const forecaster = FORECASTERS[method];
  if (!forecaster) return { ok: false, method, reason: ABSTAIN_REASON.unknownMethod, detail: `no forecaster named ${method}` };
  const need = forecaster.minHistory(options.season);
  if (series.length < need) {
    return { ok: false, method, reason: ABSTAIN_REASON.historyTooShort, detail: `${series.length} of ${need} samples` };
  }
  const model = forecaster.fit(series, options.season);
  const recentMape = mape(series, model.fitted, options.mapeWindow ?? options.season);
  if (recentMape > options.maxMape) {
    return { ok: false, method, reason: ABSTAIN_REASON.mapeAboveBound, detail: `MAPE ${recentMape.toFixed(1)}% > ${options.maxMape}%`, mape: recentMape };
  }
  const std = residualStd(series, model.fitted);
  const z = options.z ?? 1.96;
  const mean = model.predict(options.horizon);
  const half = mean.map((_, i) => z * std * Math.sqrt(model.varianceFactor(i + 1)));
  return {
    ok: true,
    method,
    mean,
    lower: mean.map((v, i) => v - half[i]),
    upper: mean.map((v, i) => v + half[i]),
    residualStd: std,
    mape: recentMape,
  };
}
