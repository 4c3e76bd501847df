import { affinityPropagation, affinityPropagationLiteral, medianOf } from '../../lib/analysis/affinity-propagation';
import { Rng } from '../../lib/util/rng';

/** Negative squared distances of points on a line (the classic toy input of Frey & Dueck). */
function lineSimilarities(points: number[]): number[] {
  return points.flatMap((a) => points.map((b) => -((a - b) ** 2)));
}

describe('affinity propagation', () => {
  it('finds the two groups of a line and their middle points as exemplars (hand-worked)', () => {
    // Points 0,1,2 and 10,11,12: s = -d^2; preference -2 (between the in-group cost of a middle exemplar, 1 + 1 = 2
    // in total, and the cost of joining groups, >= 64): the middles serve their neighbours at cost 1 each.
    const s = lineSimilarities([0, 1, 2, 10, 11, 12]);
    const r = affinityPropagation(s, 6, { preference: -2 });
    expect(r.converged).toBe(true);
    expect(r.exemplars).toEqual([1, 4]);
    expect(Array.from(r.assignment)).toEqual([1, 1, 1, 4, 4, 4]);
  });

  it('gives one cluster when the preference is very low and every point its own when it is high', () => {
    const s = lineSimilarities([0, 1, 2, 10, 11, 12]);
    expect(affinityPropagation(s, 6, { preference: -1000 }).exemplars.length).toBe(1);
    expect(affinityPropagation(s, 6, { preference: 0 }).exemplars).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a larger multiple of the median preference gives no more clusters', () => {
    const rng = new Rng(5);
    const pts = Array.from({ length: 30 }, () => [rng.normal(0, 1) + 6 * rng.int(4), rng.normal(0, 1)]);
    const s = pts.flatMap((a) => pts.map((b) => -((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2)));
    const counts = [1, 1.3, 3, 10].map((f) => affinityPropagation(s, 30, { preference: f * medianOf(s) }).exemplars.length);
    for (let k = 1; k < counts.length; k++) expect(counts[k]).toBeLessThanOrEqual(counts[k - 1]);
  });

  it('matches the literal message-passing twin on random similarities (same exemplars, iterations, assignment)', () => {
    for (const seed of [1, 2, 3]) {
      const rng = new Rng(seed);
      const n = 14;
      const s = Array.from({ length: n * n }, () => -rng.uniform(0, 10));
      for (const damping of [0.5, 0.9]) {
        const opts = { damping, preference: 1.3 * medianOf(s), convIts: 20, maxIts: 400 };
        const fast = affinityPropagation(s, n, opts);
        const slow = affinityPropagationLiteral(s, n, opts);
        expect(fast.exemplars).toEqual(slow.exemplars);
        expect(Array.from(fast.assignment)).toEqual(Array.from(slow.assignment));
        expect(fast.iterations).toBe(slow.iterations);
        expect(fast.converged).toBe(slow.converged);
      }
    }
  });

  it('is deterministic with seeded tie-breaking noise and rejects bad input with a clear error', () => {
    const s = lineSimilarities([0, 1, 2, 3]);
    const a = affinityPropagation(s, 4, { noise: new Rng(1) });
    const b = affinityPropagation(s, 4, { noise: new Rng(1) });
    expect(a).toEqual(b);
    expect(() => affinityPropagation([1, 2, 3], 2)).toThrow(/2x2 similarity matrix needs 4 numbers, found 3/);
    expect(() => affinityPropagation(s, 4, { damping: 1 })).toThrow(/damping must be in \[0.5, 1\)/);
  });

  it('medianOf takes the middle of all entries', () => {
    expect(medianOf([3, 1, 2])).toBe(2);
    expect(medianOf([4, 1, 2, 3])).toBe(2.5);
  });
});
