import { agnes, Cluster } from 'ml-hclust';

/**
 * Agglomerative (hierarchical) clustering through ml-hclust's AGNES, cut into k clusters; plus the feature helpers the
 * galleries use (L2 normalisation, mean pairwise distance). Linkages, on Euclidean distances:
 * - 'ward': Ward's minimum-variance criterion (Ward 1963) by the Lance-Williams update on squared distances, heights
 *   sqrt(2 n_a n_b / (n_a + n_b)) * |centroid_a - centroid_b| (R's "ward.D2", scipy's "ward"; ml-hclust's 'ward2').
 *   ml-hclust's plain 'ward' applies the update to unsquared distances (R's "ward.D"), which is not Ward's criterion.
 * - 'average': UPGMA, the mean distance over all cross pairs.
 */

export type Linkage = 'ward' | 'average';
export const LINKAGES: readonly Linkage[] = ['ward', 'average'];

/** One merge of the dendrogram, scipy-style: clusters `a` and `b` (ids < n are points, n + i is merge i) at `height`. */
export interface Merge {
  a: number;
  b: number;
  height: number;
  /** Points in the merged cluster. */
  size: number;
}

/** A dendrogram over n points: n - 1 merges in order of increasing height. */
export interface Dendrogram {
  n: number;
  merges: Merge[];
}

const ML_METHOD: Record<Linkage, 'ward2' | 'average'> = { ward: 'ward2', average: 'average' };

function checkPoints(points: readonly ArrayLike<number>[], what: string): void {
  if (!points.length) throw new Error(`${what}: no points to cluster`);
  const d = points[0].length;
  points.forEach((p, i) => {
    if (p.length !== d)
      throw new Error(`${what}: point ${i} has ${p.length} coordinates, point 0 has ${d}; give every point the same length`);
    for (let j = 0; j < d; j++)
      if (!Number.isFinite(p[j])) throw new Error(`${what}: coordinate ${j} of point ${i} is ${p[j]}, expected a finite number`);
  });
}

/** The dendrogram of `points` (rows of equal length) under `linkage`. */
export function agglomerate(points: readonly ArrayLike<number>[], linkage: Linkage): Dendrogram {
  checkPoints(points, 'agglomerate');
  if (!(LINKAGES as readonly string[]).includes(linkage))
    throw new Error(`agglomerate: unknown linkage "${linkage}"; expected one of ${LINKAGES.join(', ')}`);
  const n = points.length;
  if (n === 1) return { n, merges: [] };
  const root = agnes(
    points.map((p) => Array.from(p)),
    { method: ML_METHOD[linkage] },
  );
  // Post-order walk: children get their ids before their parent; then sort merges by height (stable).
  const found: { node: Cluster; left: Cluster; right: Cluster }[] = [];
  const walk = (c: Cluster): void => {
    if (c.isLeaf) return;
    c.children.forEach(walk);
    found.push({ node: c, left: c.children[0], right: c.children[1] });
  };
  walk(root);
  found.sort((p, q) => p.node.height - q.node.height);
  const ids = new Map<Cluster, number>();
  const idOf = (c: Cluster) => (c.isLeaf ? c.index : ids.get(c)!);
  const merges = found.map((m, i) => {
    ids.set(m.node, n + i);
    const [a, b] = [idOf(m.left), idOf(m.right)].sort((x, y) => x - y);
    return { a, b, height: m.node.height, size: m.node.size };
  });
  return { n, merges };
}

/**
 * Cluster labels [n] in 0..k-1 from cutting the dendrogram into k clusters (undo the k - 1 highest merges, as scipy's
 * fcluster 'maxclust' for monotone linkages). Labels are numbered in order of each cluster's first point.
 */
export function cutTree(tree: Dendrogram, k: number): Int32Array {
  const { n, merges } = tree;
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new Error(`cutTree: k must be an integer in [1, ${n}] (the number of points), found ${k}`);
  const parent = new Int32Array(2 * n - 1).fill(-1);
  // Keep the n - k lowest merges.
  for (let i = 0; i < n - k; i++) {
    parent[merges[i].a] = n + i;
    parent[merges[i].b] = n + i;
  }
  const rootOf = (c: number): number => (parent[c] < 0 ? c : rootOf(parent[c]));
  const labels = new Int32Array(n);
  const names = new Map<number, number>();
  for (let p = 0; p < n; p++) {
    const r = rootOf(p);
    if (!names.has(r)) names.set(r, names.size);
    labels[p] = names.get(r)!;
  }
  return labels;
}

/** Agglomerative clustering of `points` into k clusters: labels [n] in 0..k-1 (see `cutTree`). */
export function clusterPoints(points: readonly ArrayLike<number>[], k: number, linkage: Linkage): Int32Array {
  return cutTree(agglomerate(points, linkage), k);
}

/** Each row divided by its Euclidean norm (a zero row stays zero). */
export function l2Normalize(rows: readonly ArrayLike<number>[]): Float64Array[] {
  return rows.map((r) => {
    let s = 0;
    for (let j = 0; j < r.length; j++) s += r[j] * r[j];
    const norm = Math.sqrt(s);
    return Float64Array.from(r, (v) => (norm > 0 ? v / norm : 0));
  });
}

/** Euclidean distance of two rows of equal length. */
export function euclidean(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (a[j] - b[j]) ** 2;
  return Math.sqrt(s);
}

/** Mean Euclidean distance over all unordered pairs of rows (a gallery's diversity); NaN with fewer than 2 rows. */
export function meanPairwiseDistance(rows: readonly ArrayLike<number>[]): number {
  let s = 0;
  let pairs = 0;
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length; j++, pairs++) s += euclidean(rows[i], rows[j]);
  }
  return pairs ? s / pairs : NaN;
}
