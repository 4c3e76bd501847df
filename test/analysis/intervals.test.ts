import {
  bootstrapInterval,
  meanInterval,
  normalQuantile,
  quantile,
  verdictFromInterval,
  wilsonInterval,
} from '../../lib/analysis/intervals';
import { Rng } from '../../lib/util/rng';

describe('intervals', () => {
  it('quantiles interpolate between order statistics', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0)).toBe(1);
    expect(quantile([1, 2, 3, 4], 1)).toBe(4);
  });
  it('normal quantiles match the tables', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
  });
  it('Wilson: 8 of 10 at 95% is [0.490, 0.943] (hand-worked)', () => {
    const iv = wilsonInterval(8, 10);
    expect(iv.low).toBeCloseTo(0.4902, 3);
    expect(iv.high).toBeCloseTo(0.9433, 3);
  });
  it('the bootstrap of a constant is that constant; same seed, same interval; it covers the mean', () => {
    expect(meanInterval([3, 3, 3], new Rng(1))).toMatchObject({ low: 3, high: 3 });
    const values = Array.from({ length: 200 }, (_, i) => Math.sin(i) + 1);
    const a = meanInterval(values, new Rng(7), { resamples: 500 });
    const b = meanInterval(values, new Rng(7), { resamples: 500 });
    expect(a).toEqual(b);
    const m = values.reduce((s, v) => s + v, 0) / values.length;
    expect(a.low).toBeLessThan(m);
    expect(a.high).toBeGreaterThan(m);
    // About 1.96 standard errors either side.
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
    expect(a.high - a.low).toBeCloseTo((2 * 1.96 * sd) / Math.sqrt(values.length), 1);
  });
  it('paired statistics resample the same units on both sides', () => {
    const a = [1, 2, 3, 4, 5];
    const b = a.map((v) => v + 1);
    const iv = bootstrapInterval(a.length, (idx) => Array.from(idx).reduce((s, i) => s + b[i] - a[i], 0) / idx.length, new Rng(2), {
      resamples: 100,
    });
    expect(iv).toMatchObject({ low: 1, high: 1 });
  });
  it('verdicts: holds above, fails below, inconclusive across the threshold', () => {
    const iv = (low: number, high: number) => ({ low, high, level: 0.95, over: 'x' });
    expect(verdictFromInterval(iv(0.2, 0.4), 0.1, 'above')).toBe('holds');
    expect(verdictFromInterval(iv(0.0, 0.1), 0.1, 'above')).toBe('fails');
    expect(verdictFromInterval(iv(0.05, 0.2), 0.1, 'above')).toBe('inconclusive');
    expect(verdictFromInterval(iv(0.05, 0.08), 0.1, 'below')).toBe('holds');
    expect(verdictFromInterval(iv(0.1, 0.3), 0.1, 'below')).toBe('fails');
  });
});
