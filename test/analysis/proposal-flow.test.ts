import type { Box } from '../../lib/analysis/hog';
import { lomConfidence, lomConfidenceLiteral, ProposalSet } from '../../lib/analysis/proposal-flow';
import { Rng } from '../../lib/util/rng';

function set(boxes: Box[], descriptors: number[][]): ProposalSet {
  return { boxes, descriptors: Float32Array.from(descriptors.flat()), dim: descriptors[0].length };
}

describe('Proposal Flow LOM', () => {
  it('one proposal each: the vote is kept (its own offset is the median, local/global votes = 1)', () => {
    const A = set([[0, 0, 4, 4]], [[0.6, 0.8]]);
    const B = set([[10, 10, 14, 14]], [[1, 0]]);
    expect(lomConfidence(A, B)[0]).toBeCloseTo(0.6, 6);
  });

  it('negative votes become 0 and pairs whose aspect ratios differ by 2x are dropped', () => {
    const A = set([[0, 0, 4, 4]], [[1, 0]]);
    expect(lomConfidence(A, set([[0, 0, 4, 4]], [[-1, 0]]))[0]).toBe(0);
    expect(lomConfidence(A, set([[0, 0, 8, 4]], [[1, 0]]))[0]).toBe(0);
    expect(lomConfidence(A, set([[0, 0, 8, 4]], [[1, 0]]), { deleteByAspect: false })[0]).toBeCloseTo(1, 6);
  });

  it("prefers the match consistent with the neighbours' offset among equal votes (hand-worked)", () => {
    // A: two overlapping boxes; B: the same two boxes shifted by +10 in x, plus a decoy copy of box 0 shifted by +30.
    // Box 1 matches only its shifted copy (offset -10), so the neighbourhood's median offset is -10 and the decoy
    // (offset -30) is down-weighted by exp(-0.05 * 20).
    const A = set(
      [
        [0, 0, 4, 4],
        [2, 0, 6, 4],
      ],
      [
        [1, 0],
        [0, 1],
      ],
    );
    const B = set(
      [
        [10, 0, 14, 4],
        [12, 0, 16, 4],
        [30, 0, 34, 4],
      ],
      [
        [1, 0],
        [0, 1],
        [1, 0],
      ],
    );
    const c = lomConfidence(A, B);
    expect(c[0]).toBeGreaterThan(c[2]);
    expect(c[2] / c[0]).toBeCloseTo(Math.exp(-0.05 * 20), 3);
  });

  it('equals the literal transliteration of LOM.m on random proposals', () => {
    const rng = new Rng(2);
    const randomSet = (n: number): ProposalSet => {
      const boxes: Box[] = Array.from({ length: n }, () => {
        const [x0, y0] = [rng.int(50), rng.int(50)];
        return [x0, y0, x0 + 4 + rng.int(14), y0 + 4 + rng.int(14)];
      });
      const d = 6;
      return { boxes, descriptors: Float32Array.from({ length: n * d }, () => rng.normal()), dim: d };
    };
    for (let t = 0; t < 3; t++) {
      const A = randomSet(25);
      const B = randomSet(18);
      const opts = { offsetScale: 3.5 };
      const fast = lomConfidence(A, B, opts);
      const slow = lomConfidenceLiteral(A, B, opts);
      expect(fast.length).toBe(25 * 18);
      fast.forEach((v, k) => expect(v).toBeCloseTo(slow[k], 5));
      expect(fast.some((v) => v > 0)).toBe(true);
    }
  });

  it('rejects descriptors that do not fit the boxes', () => {
    expect(() => lomConfidence(set([[0, 0, 4, 4]], [[1, 0]]), { boxes: [[0, 0, 4, 4]], descriptors: new Float32Array(3), dim: 2 })).toThrow(
      /1 boxes of dimension 2 but 3/,
    );
  });
});
