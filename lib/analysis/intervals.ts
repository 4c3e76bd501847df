import type { Interval, Verdict } from '../studies/types';
import { Rng } from '../util/rng';

/**
 * Intervals for claims, and the verdict rule that reads them. Percentile bootstrap (Efron & Tibshirani 1993, ch. 13)
 * over resampled units (images, objects, pairs, seeds), drawn from a seeded Rng so the same seed gives the same
 * interval; Wilson's score interval for a proportion.
 */

export interface BootstrapOptions {
  /** Resamples (default 2000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** What the units are, for the interval's `over` (default "units"). */
  unit?: string;
}

/** The q-quantile of sorted values (linear interpolation between order statistics, as numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Percentile-bootstrap interval of `statistic` over n units: each resample draws n unit indices with replacement and
 * evaluates statistic(indices). Paired comparisons resample the same indices for both sides inside `statistic`.
 */
export function bootstrapInterval(n: number, statistic: (indices: Int32Array) => number, rng: Rng, opts: BootstrapOptions = {}): Interval {
  const resamples = opts.resamples ?? 2000;
  const level = opts.level ?? 0.95;
  if (n < 1) throw new Error('bootstrapInterval: no units to resample');
  const stats: number[] = [];
  const idx = new Int32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    const v = statistic(idx);
    if (Number.isFinite(v)) stats.push(v);
  }
  stats.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return {
    low: quantile(stats, alpha),
    high: quantile(stats, 1 - alpha),
    level,
    over: `${opts.unit ?? 'units'} (bootstrap, ${resamples} resamples)`,
  };
}

/** Bootstrap interval of the mean of `values`. */
export function meanInterval(values: readonly number[], rng: Rng, opts: BootstrapOptions = {}): Interval {
  return bootstrapInterval(
    values.length,
    (idx) => {
      let s = 0;
      for (let i = 0; i < idx.length; i++) s += values[idx[i]];
      return s / idx.length;
    },
    rng,
    opts,
  );
}

/** Wilson score interval of a proportion k/n (level 0.95 by default: z = 1.96). */
export function wilsonInterval(k: number, n: number, level = 0.95, unit = 'trials'): Interval {
  if (n < 1) throw new Error('wilsonInterval: n must be >= 1');
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = k / n;
  const d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half), level, over: `${unit} (Wilson)` };
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`normalQuantile: p must be in (0, 1), found ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.928510446969, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/**
 * The verdict of "the quantity is above (or below) `threshold`" given its interval: holds when the whole interval is
 * on the claimed side, fails when the whole interval is on the other side (or on the threshold), inconclusive when it
 * straddles the threshold.
 */
export function verdictFromInterval(iv: Interval, threshold: number, direction: 'above' | 'below'): Verdict {
  const [onSide, offSide] = direction === 'above' ? [iv.low > threshold, iv.high <= threshold] : [iv.high < threshold, iv.low >= threshold];
  return onSide ? 'holds' : offSide ? 'fails' : 'inconclusive';
}
