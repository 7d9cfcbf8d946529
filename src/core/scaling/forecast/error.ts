// Error figures over one-step-ahead predictions: MAPE (percent) and residual standard deviation.

/** Mean absolute percentage error over the last `window` predicted points; points whose actual is 0 are skipped. */
export function mape(actual: ArrayLike<number>, predicted: ArrayLike<number>, window: number): number {
  let sum = 0;
  let n = 0;
  for (let i = Math.max(0, actual.length - window); i < actual.length; i++) {
    const a = actual[i];
    const p = predicted[i];
    if (Number.isNaN(p) || a === 0) continue;
    sum += Math.abs((a - p) / a);
    n++;
  }
  return n === 0 ? 0 : (sum / n) * 100;
}

export function residualStd(actual: ArrayLike<number>, predicted: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < actual.length; i++) {
    const p = predicted[i];
    if (Number.isNaN(p)) continue;
    const r = actual[i] - p;
    sum += r * r;
    n++;
  }
  return n < 2 ? 0 : Math.sqrt(sum / (n - 1));
}
