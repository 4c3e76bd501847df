import * as tf from '@tensorflow/tfjs';
import { OcclusionFill, Patch } from '../data/transforms';
import { Rng } from '../util/rng';
import { Progress } from '../util/progress';
import { classLogitsOfVariants } from './occlusion';

/**
 * Patch removal (the BagNet paper's spatial-sensitivity benchmark): cut the image into a grid of p x p cells, rank
 * the cells by some evidence (a BagNet heatmap, the model's own gradient attribution, or at random), mask the k
 * highest-ranked cells for k in `ks`, and record the model's target-class logit and whether it still predicts the
 * label.
 */

/** The non-overlapping p x p cells of an h x w image, row-major (a last partial row/column is left out). */
export function patchGrid(h: number, w: number, p: number): Patch[] {
  const cells: Patch[] = [];
  for (let y = 0; y + p <= h; y += p) for (let x = 0; x + p <= w; x += p) cells.push({ x, y, width: p, height: p });
  return cells;
}

/** Sum of a per-pixel map (H*W, or H*W*C summed over channels) over each cell. */
export function cellScores(map: ArrayLike<number>, h: number, w: number, channels: number, cells: readonly Patch[]): number[] {
  return cells.map((cell) => {
    let s = 0;
    for (let y = cell.y; y < cell.y + cell.height; y++)
      for (let x = cell.x; x < cell.x + cell.width; x++) for (let c = 0; c < channels; c++) s += map[(y * w + x) * channels + c];
    return s;
  });
}

/** Cell indices sorted by decreasing score (ties: lower index first). */
export function rankCells(scores: readonly number[]): number[] {
  return scores
    .map((s, i) => [s, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .map(([, i]) => i);
}

/** A random order of the cells, per image. */
export function randomOrders(n: number, cells: number, rng: Rng): number[][] {
  return Array.from({ length: n }, () => rng.permutation(cells));
}

export interface RemovalCurve {
  ks: number[];
  /** Mean target-class logit after masking k cells. */
  meanLogit: number[];
  /** Fraction of images still classified correctly. */
  accuracy: number[];
  /** Per image, per k: the target logit. */
  logits: number[][];
}

/** Masks the first k cells of `orders[i]` in image i for every k in `ks`; labels are the target classes. */
export function removalCurve(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  labels: ArrayLike<number>,
  cells: readonly Patch[],
  orders: readonly number[][],
  ks: readonly number[],
  fill: OcclusionFill = 'mean',
  progress?: string,
): RemovalCurve {
  const [n, h, w, c] = x.shape;
  const data = x.dataSync() as Float32Array;
  const per = h * w * c;
  const logits: number[][] = [];
  const correct = ks.map(() => 0);
  const bar = progress ? new Progress(progress, n) : null;
  for (let i = 0; i < n; i++) {
    const lists = ks.map((k) => orders[i].slice(0, k).map((j) => cells[j]));
    const res = classLogitsOfVariants(model, data.subarray(i * per, (i + 1) * per), [h, w, c], lists, fill);
    const row: number[] = [];
    ks.forEach((_, j) => {
      const off = j * res.K;
      row.push(res.logits[off + labels[i]]);
      let best = 0;
      for (let k = 1; k < res.K; k++) if (res.logits[off + k] > res.logits[off + best]) best = k;
      if (best === labels[i]) correct[j]++;
    });
    logits.push(row);
    bar?.tick();
  }
  bar?.finish();
  return {
    ks: [...ks],
    meanLogit: ks.map((_, j) => logits.reduce((a, r) => a + r[j], 0) / n),
    accuracy: correct.map((v) => v / n),
    logits,
  };
}
