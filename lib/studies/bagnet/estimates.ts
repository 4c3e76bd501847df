import { bootstrapInterval, verdictFromInterval } from '../../analysis/intervals';
import type { Rng } from '../../util/rng';
import type { Interval, Verdict } from '../types';

/**
 * A measured quantity with its 95% confidence interval: the statistic on every test image, and the percentile
 * bootstrap over the images (lib/analysis/intervals). Paired comparisons resample the same images for both sides.
 */
export interface Estimate {
  value: number;
  interval: Interval;
}

/** A statistic of the units picked by `indices` (with repeats): a resample of the n units. */
export type Statistic = (indices: Int32Array) => number;

/** The statistic on all n units and its bootstrap interval (`resamples` resamples of n units with replacement). */
export function estimate(n: number, stat: Statistic, rng: Rng, resamples: number, unit = 'test images'): Estimate {
  const all = Int32Array.from({ length: n }, (_, i) => i);
  return { value: stat(all), interval: bootstrapInterval(n, stat, rng, { resamples, unit }) };
}

/** Mean of per-unit values over the picked units. */
export function meanOf(values: ArrayLike<number>): Statistic {
  return (idx) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) s += values[idx[i]];
    return s / idx.length;
  };
}

/** Paired difference of means, mean(a - b), over the picked units. */
export function diffOf(a: ArrayLike<number>, b: ArrayLike<number>): Statistic {
  if (a.length !== b.length) throw new Error(`diffOf: ${a.length} vs ${b.length} paired values`);
  return (idx) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) s += a[idx[i]] - b[idx[i]];
    return s / idx.length;
  };
}

/** Ratio of sums, sum(num) / sum(den), over the picked units (a mean of ratios would let tiny denominators rule). */
export function ratioOf(num: ArrayLike<number>, den: ArrayLike<number>): Statistic {
  return (idx) => {
    let a = 0;
    let b = 0;
    for (let i = 0; i < idx.length; i++) {
      a += num[idx[i]];
      b += den[idx[i]];
    }
    return a / b;
  };
}

/** One labelled estimate of a claim (e.g. one dataset's or one model's comparison). */
export interface Part {
  label: string;
  estimate: Estimate;
}

/**
 * The verdict of "every part is above (or below) `threshold`": holds when every part's interval lies on the claimed
 * side, fails when some part's interval lies on the other side, inconclusive otherwise. The claim's interval is the
 * deciding part's: the first failing one, else the first straddling one, else the one nearest the threshold.
 */
export function decide(
  parts: readonly Part[],
  threshold: number,
  direction: 'above' | 'below',
): { verdict: Verdict; interval?: Interval; text: string } {
  if (!parts.length) return { verdict: 'inconclusive', text: 'nothing measured' };
  const verdicts = parts.map((p) => verdictFromInterval(p.estimate.interval, threshold, direction));
  const margin = (p: Part) => (direction === 'above' ? p.estimate.interval.low - threshold : threshold - p.estimate.interval.high);
  let pick = verdicts.indexOf('fails');
  if (pick < 0) pick = verdicts.indexOf('inconclusive');
  if (pick < 0) pick = parts.reduce((best, p, i) => (margin(p) < margin(parts[best]) ? i : best), 0);
  const verdict: Verdict = verdicts.includes('fails') ? 'fails' : verdicts.includes('inconclusive') ? 'inconclusive' : 'holds';
  return { verdict, interval: parts[pick].estimate.interval, text: parts.map((p) => formatPart(p)).join('; ') };
}

/** "label 0.123 [0.100, 0.150]"; values below 0.01 in magnitude as 1.23e-4. */
export function formatPart(p: Part, digits = 3): string {
  const f = (v: number) => (!Number.isFinite(v) ? 'n/a' : v === 0 || Math.abs(v) >= 0.01 ? v.toFixed(digits) : v.toExponential(2));
  return `${p.label} ${f(p.estimate.value)} [${f(p.estimate.interval.low)}, ${f(p.estimate.interval.high)}]`;
}
