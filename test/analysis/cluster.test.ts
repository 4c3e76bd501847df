import { agglomerate, clusterPoints, cutTree, Linkage, l2Normalize, meanPairwiseDistance } from '../../lib/analysis/cluster';
import { Rng } from '../../lib/util/rng';

// Five points on a line: A=0, B=1, C=4, D=10, E=12 (pairwise: AB 1, DE 2, BC 3, AC 4, CD 6, CE 8, BD 9, AD 10, BE 11, AE 12).
const LINE = [[0], [1], [4], [10], [12]];

/**
 * Agglomerative clustering written from the definitions, O(n^3) per step: merge the pair of clusters with the lowest
 * linkage; average = mean distance over cross pairs, Ward = sqrt(2 n_a n_b / (n_a + n_b)) * |centroid_a - centroid_b|.
 * Returns the merge heights in order and the clusters left after n - k merges.
 */
function literal(points: number[][], linkage: Linkage, k: number): { heights: number[]; clusters: number[][] } {
  let clusters = points.map((_, i) => [i]);
  const heights: number[] = [];
  const dist = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, j) => s + (v - b[j]) ** 2, 0));
  const centroid = (c: number[]) => points[0].map((_, j) => c.reduce((s, i) => s + points[i][j], 0) / c.length);
  const link = (a: number[], b: number[]) => {
    if (linkage === 'average')
      return a.reduce((s, i) => s + b.reduce((t, j) => t + dist(points[i], points[j]), 0), 0) / (a.length * b.length);
    return Math.sqrt((2 * a.length * b.length) / (a.length + b.length)) * dist(centroid(a), centroid(b));
  };
  let kept: number[][] = clusters;
  while (clusters.length > 1) {
    let best = [0, 1, Infinity];
    for (let i = 0; i < clusters.length; i++)
      for (let j = i + 1; j < clusters.length; j++) {
        const d = link(clusters[i], clusters[j]);
        if (d < best[2]) best = [i, j, d];
      }
    const [i, j, d] = best;
    heights.push(d);
    clusters = [...clusters.filter((_, c) => c !== i && c !== j), [...clusters[i], ...clusters[j]].sort((x, y) => x - y)];
    if (clusters.length === k) kept = clusters;
  }
  return { heights, clusters: [...kept].sort((a, b) => a[0] - b[0]) };
}

/** Clusters as sorted member lists, sorted by first member: comparable across labelings. */
function groups(labels: Int32Array): number[][] {
  const by = new Map<number, number[]>();
  labels.forEach((l, i) => by.set(l, [...(by.get(l) ?? []), i]));
  return [...by.values()].sort((a, b) => a[0] - b[0]);
}

describe('agglomerate and cutTree on hand-worked examples', () => {
  test('average linkage on five points of a line: heights 1, 2, 3.5, 28/3', () => {
    // AB at 1; DE at 2; d(AB,C) = (4+3)/2 = 3.5; d(ABC,DE) = (10+12+9+11+6+8)/6 = 56/6.
    const tree = agglomerate(LINE, 'average');
    expect(tree.merges.map((m) => m.height)).toEqual([1, 2, 3.5, 56 / 6].map((h) => expect.closeTo(h, 12)));
    expect(tree.merges.map((m) => [m.a, m.b, m.size])).toEqual([
      [0, 1, 2],
      [3, 4, 2],
      [2, 5, 3],
      [6, 7, 5],
    ]);
    expect(groups(cutTree(tree, 2))).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
    expect(groups(cutTree(tree, 3))).toEqual([[0, 1], [2], [3, 4]]);
    expect(Array.from(cutTree(tree, 3))).toEqual([0, 0, 1, 2, 2]);
    expect(Array.from(cutTree(tree, 1))).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(cutTree(tree, 5))).toEqual([0, 1, 2, 3, 4]);
  });

  test('Ward linkage on the same points: heights 1, 2, 7/sqrt(3), sqrt(12/5) * 28/3', () => {
    // AB (centroid 0.5) + C: sqrt(2*2*1/3) * 3.5 = 7/sqrt(3); ABC (5/3) + DE (11): sqrt(2*3*2/5) * 28/3.
    const tree = agglomerate(LINE, 'ward');
    expect(tree.merges.map((m) => m.height)).toEqual(
      [1, 2, 7 / Math.sqrt(3), Math.sqrt(12 / 5) * (28 / 3)].map((h) => expect.closeTo(h, 12)),
    );
    expect(groups(cutTree(tree, 2))).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
  });

  test('2-D square of four points and a far point: the far point stays alone until the end', () => {
    const pts = [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
      [10, 10],
    ];
    for (const linkage of ['ward', 'average'] as Linkage[]) {
      const tree = agglomerate(pts, linkage);
      expect(tree.merges[0].height).toBeCloseTo(1, 12);
      expect(groups(cutTree(tree, 2))).toEqual([[0, 1, 2, 3], [4]]);
    }
    // Average: the last merge is the mean distance from (10,10) to the square's corners.
    const far = [Math.hypot(10, 10), Math.hypot(10, 9), Math.hypot(9, 10), Math.hypot(9, 9)];
    expect(agglomerate(pts, 'average').merges[3].height).toBeCloseTo(far.reduce((a, b) => a + b) / 4, 12);
  });
});

describe('agglomerate against the literal twin on random points', () => {
  test.each(['ward', 'average'] as Linkage[])('%s: same heights and same clusters for every k', (linkage) => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 5; trial++) {
      const pts = Array.from({ length: 12 }, () => Array.from({ length: 3 }, () => rng.normal(0, 1)));
      const tree = agglomerate(pts, linkage);
      const twin = literal(pts, linkage, 1);
      expect(tree.merges.map((m) => m.height)).toEqual(twin.heights.map((h) => expect.closeTo(h, 9)));
      for (const k of [2, 3, 5, 8]) expect(groups(clusterPoints(pts, k, linkage))).toEqual(literal(pts, linkage, k).clusters);
    }
  });
});

describe('errors and helpers', () => {
  test('bad input says what was expected', () => {
    expect(() => agglomerate([], 'ward')).toThrow(/no points/);
    expect(() => agglomerate([[0, 1], [2]], 'ward')).toThrow(/point 1 has 1 coordinates, point 0 has 2/);
    expect(() => agglomerate([[0], [NaN]], 'average')).toThrow(/finite/);
    expect(() => agglomerate([[0], [1]], 'single' as Linkage)).toThrow(/unknown linkage "single"/);
    expect(() => cutTree(agglomerate(LINE, 'ward'), 6)).toThrow(/k must be an integer in \[1, 5\]/);
    expect(agglomerate([[3]], 'ward')).toEqual({ n: 1, merges: [] });
  });

  test('l2Normalize and meanPairwiseDistance', () => {
    const [a, b, z] = l2Normalize([
      [3, 4],
      [0, 2],
      [0, 0],
    ]);
    expect(Array.from(a)).toEqual([0.6, 0.8]);
    expect(Array.from(b)).toEqual([0, 1]);
    expect(Array.from(z)).toEqual([0, 0]);
    // Pairs of (0,0), (3,4), (6,8): 5, 10, 5 -> mean 20/3.
    expect(
      meanPairwiseDistance([
        [0, 0],
        [3, 4],
        [6, 8],
      ]),
    ).toBeCloseTo(20 / 3, 12);
    expect(meanPairwiseDistance([[1, 2]])).toBeNaN();
  });
});
