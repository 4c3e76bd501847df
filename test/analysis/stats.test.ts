import { dilate, linearFit, logitCorrelation, mean, pearson, perClassAccuracy, pointingGame, std } from '../../lib/analysis/stats';

describe('stats', () => {
  it('mean, std, pearson on hand-computed values', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(std([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.13809, 5);
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    // x = 1..5, y = [2, 1, 4, 3, 5]: cov 2.0 (n-1 = 4 -> sxy 8), sxx 10, syy 10 -> r 0.8
    expect(pearson([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])).toBeCloseTo(0.8, 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
  });

  it('linearFit recovers a line and its R²', () => {
    const f = linearFit([0, 1, 2, 3], [1, 3, 5, 7]);
    expect(f.slope).toBeCloseTo(2, 12);
    expect(f.intercept).toBeCloseTo(1, 12);
    expect(f.r2).toBeCloseTo(1, 12);
    // y = [0, 1, 0, 1]: slope 0.2, intercept 0.2, SSres 0.8, SStot 1 -> R² 0.2
    const g = linearFit([0, 1, 2, 3], [0, 1, 0, 1]);
    expect(g.slope).toBeCloseTo(0.2, 12);
    expect(g.r2).toBeCloseTo(0.2, 12);
  });

  it('pointing game: hits, chance from the grown mask, mass on target', () => {
    // 4x4 images; target = pixel (1,1).
    const mask = new Uint8Array(16);
    mask[5] = 1;
    const hit = new Float32Array(16);
    hit[5] = 2;
    hit[15] = 1;
    const miss = new Float32Array(16);
    miss[15] = 3;
    const r = pointingGame([hit, miss], [mask, mask], 4, 4, 0);
    expect(r.hits).toBe(1);
    expect(r.hitRate).toBe(0.5);
    expect(r.chance).toBeCloseTo(1 / 16, 12);
    expect(r.massOnTarget).toBeCloseTo((2 / 3 + 0) / 2, 12);
    // With tolerance 1 the grown mask is the 3x3 block around (1,1): chance 9/16; (3,3) is still a miss.
    expect(pointingGame([miss], [mask], 4, 4, 1).chance).toBeCloseTo(9 / 16, 12);
    expect(Array.from(dilate(mask, 4, 4, 1)).reduce((a, b) => a + b, 0)).toBe(9);
  });

  it('per-class accuracy and centred logit correlation', () => {
    expect(perClassAccuracy([0, 1, 1, 2], [0, 1, 2, 2], 4)).toEqual([1, 1, 0.5, NaN]);
    // b = a + per-image constant: identical after centring.
    expect(logitCorrelation([1, 2, 3, 0, 5, 1], [11, 12, 13, -4, 1, -3], 3)).toBeCloseTo(1, 12);
  });
});
