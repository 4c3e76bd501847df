import * as tf from '@tensorflow/tfjs';
import { occlude, OcclusionFill, Patch } from '../data/transforms';
import { Rng } from '../util/rng';
import { Progress } from '../util/progress';
import { batchRanges } from '../util/batches';
import { predictLogits } from '../train/metrics';

/**
 * Occlusion of single patches and of pairs (the BagNet paper's linearity test): mask patch a, patch b and both,
 * and compare the drop of the class logit when both are masked with the sum of the drops when each is masked alone.
 * For a BagNet the two effects add up exactly once no q x q patch sees both masks, i.e. when the gap between them is
 * at least q - 1 pixels; a CNN whose units see both may combine them non-linearly.
 *
 * Distance between two p x p patches = the gap between them: max(|ya - yb|, |xa - xb|) - p pixels (Chebyshev),
 * 0 for touching patches. Masks are filled with the image's own mean colour (`occlude` 'mean').
 */

/** The masks of one image: distinct single patches, and pairs as indices into them. */
export interface PairPlan {
  singles: Patch[];
  pairs: { a: number; b: number; distance: number }[];
}

/** Gap between two equal square patches (Chebyshev distance of their corners minus the side). */
export function patchGap(a: Patch, b: Patch): number {
  return Math.max(Math.abs(a.y - b.y), Math.abs(a.x - b.x)) - a.width;
}

/**
 * Draws `perDistance` pairs of p x p patches inside an h x w image for every gap in `distances` (skipping a gap that
 * does not fit). Identical patches are stored once in `singles`.
 */
export function planPairs(h: number, w: number, p: number, distances: readonly number[], perDistance: number, rng: Rng): PairPlan {
  const singles: Patch[] = [];
  const index = new Map<string, number>();
  const add = (y: number, x: number): number => {
    const key = `${y},${x}`;
    let k = index.get(key);
    if (k === undefined) {
      k = singles.length;
      singles.push({ x, y, width: p, height: p });
      index.set(key, k);
    }
    return k;
  };
  const pairs: PairPlan['pairs'] = [];
  for (const d of distances) {
    const off = d + p; // Chebyshev offset of the corners
    if (off > Math.max(h, w) - p) continue;
    for (let k = 0; k < perDistance; k++) {
      // One axis carries the full offset, the other a smaller one; retry until both patches fit.
      for (let attempt = 0; attempt < 50; attempt++) {
        const vertical = rng.next() < 0.5;
        const other = rng.int(2 * off + 1) - off;
        const sign = rng.next() < 0.5 ? -1 : 1;
        const oy = vertical ? sign * off : other;
        const ox = vertical ? other : sign * off;
        const yMin = Math.max(0, -oy);
        const yMax = Math.min(h - p, h - p - oy);
        const xMin = Math.max(0, -ox);
        const xMax = Math.min(w - p, w - p - ox);
        if (yMax < yMin || xMax < xMin) continue;
        const ya = yMin + rng.int(yMax - yMin + 1);
        const xa = xMin + rng.int(xMax - xMin + 1);
        pairs.push({ a: add(ya, xa), b: add(ya + oy, xa + ox), distance: d });
        break;
      }
    }
  }
  return { singles, pairs };
}

/** One measured pair: logit drops (clean minus occluded) of the target class. */
export interface PairEffect {
  image: number;
  distance: number;
  deltaA: number;
  deltaB: number;
  deltaAB: number;
}

/**
 * Runs the masks of `plans[i]` on image i for the class `targets[i]`: one batch per image holding the clean image,
 * every single mask and every pair. Returns one PairEffect per pair. `model` maps [N,H,W,C] to logits [N,K].
 */
export function pairOcclusion(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  targets: ArrayLike<number>,
  plans: readonly PairPlan[],
  fill: OcclusionFill = 'mean',
  progress?: string,
): PairEffect[] {
  const [n, h, w, c] = x.shape;
  if (plans.length !== n) throw new Error(`pairOcclusion: ${n} images need ${n} plans, found ${plans.length}`);
  const data = x.dataSync() as Float32Array;
  const per = h * w * c;
  const effects: PairEffect[] = [];
  const bar = progress ? new Progress(progress, n) : null;
  for (let i = 0; i < n; i++) {
    const plan = plans[i];
    const lists: Patch[][] = [[], ...plan.singles.map((s) => [s]), ...plan.pairs.map((pr) => [plan.singles[pr.a], plan.singles[pr.b]])];
    const logits = scoreVariants(model, data.subarray(i * per, (i + 1) * per), [h, w, c], lists, targets[i], fill);
    const base = logits[0];
    const single = (k: number) => base - logits[1 + k];
    plan.pairs.forEach((pr, j) => {
      effects.push({
        image: i,
        distance: pr.distance,
        deltaA: single(pr.a),
        deltaB: single(pr.b),
        deltaAB: base - logits[1 + plan.singles.length + j],
      });
    });
    bar?.tick();
  }
  bar?.finish();
  return effects;
}

/**
 * The target-class logit of one image [H,W,C] under each list of masks (an empty list: the clean image), in
 * batches of `batchSize`. Also used by patch removal.
 */
export function scoreVariants(
  model: tf.LayersModel,
  image: Float32Array,
  shape: [number, number, number],
  lists: readonly (readonly Patch[])[],
  target: number,
  fill: OcclusionFill,
  batchSize = 128,
): Float32Array {
  return classLogitsOfVariants(model, image, shape, lists, fill, batchSize).target(target);
}

/** All logits [lists.length, K] of an image under each list of masks. */
export function classLogitsOfVariants(
  model: tf.LayersModel,
  image: Float32Array,
  shape: [number, number, number],
  lists: readonly (readonly Patch[])[],
  fill: OcclusionFill,
  batchSize = 128,
): { logits: Float32Array; K: number; target(c: number): Float32Array } {
  const [h, w, c] = shape;
  const per = h * w * c;
  const K = model.outputs[0].shape[1] as number;
  const out = new Float32Array(lists.length * K);
  for (const [start, count] of batchRanges(lists.length, batchSize)) {
    const chunk = lists.slice(start, start + count) as Patch[][];
    const rep = new Float32Array(count * per);
    for (let k = 0; k < count; k++) rep.set(image, k * per);
    const xs = tf.tensor4d(rep, [count, h, w, c]);
    const masked = occlude(xs, chunk, fill);
    out.set(predictLogits(model, masked, count), start * K);
    tf.dispose([xs, masked]);
  }
  return {
    logits: out,
    K,
    target(cls: number) {
      const t = new Float32Array(lists.length);
      for (let i = 0; i < lists.length; i++) t[i] = out[i * K + cls];
      return t;
    },
  };
}
