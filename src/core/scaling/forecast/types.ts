// The one interface every forecasting method implements, over an evenly spaced series.
//
// `fit(series, season)` returns the one-step-ahead prediction for every point it could predict
// (NaN before that), the point forecast for h = 1..horizon after the last point, and the factor
// by which the one-step residual variance grows at step h (for the confidence band).

export interface FittedModel {
  readonly fitted: Float64Array;
  predict(horizon: number): number[];
  varianceFactor(h: number): number;
}

export interface Forecaster {
  readonly name: string;
  /** Fewest points the method needs for `season`. */
  minHistory(season: number): number;
  fit(series: ArrayLike<number>, season: number): FittedModel;
}
