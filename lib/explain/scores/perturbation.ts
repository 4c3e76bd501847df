import type * as tf from '@tensorflow/tfjs';
import type { OcclusionFill } from '../../data/transforms';
import { UserError } from '../../util/errors';
import { Progress } from '../../util/progress';
import { Rng } from '../../util/rng';
import { onImageGrid } from '../heatmaps';
import { classLogitsOfVariants } from '../occlusion';
import { cellScores, patchGrid } from '../removal';
import { ChanceInput, ChanceResult, ExplanationScore, modelOf, ScoreCurve, ScoreInfo, ScoreInput, ScoreResult } from './metric';

/**
 * Deletion and insertion (Petsiuk, Das & Saenko, "RISE", BMVC 2018): the image is cut into square cells, the cells
 * are ranked by the map (the sum of the map over the cell on the image grid; pixels no map cell covers count 0), and
 * the model's probability of the target class is recorded while the cells are removed most important first
 * (deletion: a steep fall = a good map, lower area under the curve is better) or restored onto a fully removed image
 * (insertion: a steep rise, higher is better). A removed cell is filled like the Occlusion method fills its window:
 * with the image's own mean colour (`occlude` 'mean'), so that the score and the method share one notion of absence.
 * Petsiuk et al. delete to black and insert onto a blurred copy; `fill` can select 'zero' or 'blur'.
 * The curve has `steps + 1` points: after step j, round(j * cells / steps) cells are removed (inserted); the area is
 * the trapezoid rule over the removed fraction in [0, 1]. Chance: the mean area over `randomOrders` random orders of
 * the cells (seeded per image, the same orders for every method).
 */

export interface PerturbationOptions {
  /** Side of the square cells (px; must divide both image sides). Default 4. */
  cell?: number;
  /** Steps of the curve. Default 16. */
  steps?: number;
  /** Fill of removed cells: 'mean' (each image's mean colour, default, as Occlusion), 'zero' or 'blur'. */
  fill?: Extract<OcclusionFill, 'mean' | 'zero' | 'blur'>;
  /** Random cell orders averaged for the chance level (default 8). */
  randomOrders?: number;
  /** Seeds the random orders (default Rng(0)); image i uses rng.fork(i). */
  rng?: Rng;
  /** Variants per forward pass (default 128). */
  batchSize?: number;
  /** Progress bar label, or false (default: the score's label). */
  progress?: string | false;
}

/** Softmax probability of class `target` from logits row `row` of [m, K]. */
function probability(logits: Float32Array, K: number, row: number, target: number): number {
  let max = -Infinity;
  for (let k = 0; k < K; k++) max = Math.max(max, logits[row * K + k]);
  let sum = 0;
  for (let k = 0; k < K; k++) sum += Math.exp(logits[row * K + k] - max);
  return Math.exp(logits[row * K + target] - max) / sum;
}

/** Cell indices by decreasing score; equal scores in the random order of `rng` (the same for every map of an image). */
export function rankWithTies(scores: readonly number[], rng: Rng): number[] {
  const tie = rng.permutation(scores.length);
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || tie[a] - tie[b]);
}

/** Area under y(x) by the trapezoid rule. */
export function trapezoid(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`trapezoid: ${x.length} x values, ${y.length} y values`);
  let a = 0;
  for (let j = 1; j < x.length; j++) a += ((x[j] - x[j - 1]) * (y[j] + y[j - 1])) / 2;
  return a;
}

/** The template: deletion and insertion differ only in which cells an order's step j hides. */
abstract class PerturbationCurve implements ExplanationScore {
  abstract readonly info: ScoreInfo;
  protected readonly o: Required<Omit<PerturbationOptions, 'progress'>> & { progress: string | false | undefined };

  constructor(options: PerturbationOptions = {}) {
    this.o = {
      cell: options.cell ?? 4,
      steps: options.steps ?? 16,
      fill: options.fill ?? 'mean',
      randomOrders: options.randomOrders ?? 8,
      rng: options.rng ?? new Rng(0),
      batchSize: options.batchSize ?? 128,
      progress: options.progress,
    };
    if (!Number.isInteger(this.o.steps) || this.o.steps < 1) throw new UserError(`steps must be a positive integer, found ${this.o.steps}`);
  }

  /** The cells hidden at step j of `order` (k = cells removed so far). */
  protected abstract hidden(order: readonly number[], k: number): number[];

  /** The curve's x values (removed fraction) and the cell count removed at each step. */
  private steps(cells: number): { x: number[]; k: number[] } {
    const k = Array.from({ length: this.o.steps + 1 }, (_, j) => Math.round((j * cells) / this.o.steps));
    return { x: k.map((v) => v / cells), k };
  }

  /** Target probability along every order of image i: one batched run of all variants. */
  private curves(model: tf.LayersModel, x: tf.Tensor4D, data: Float32Array, i: number, target: number, orders: number[][]): number[][] {
    const [, H, W, C] = x.shape;
    const cells = patchGrid(H, W, this.o.cell);
    const { k } = this.steps(cells.length);
    const lists = orders.flatMap((order) => k.map((kj) => this.hidden(order, kj).map((c) => cells[c])));
    const per = H * W * C;
    const res = classLogitsOfVariants(model, data.subarray(i * per, (i + 1) * per), [H, W, C], lists, this.o.fill, this.o.batchSize);
    return orders.map((_, r) => k.map((_, j) => probability(res.logits, res.K, r * k.length + j, target)));
  }

  private cellCount(x: tf.Tensor4D): number {
    const [, H, W] = x.shape;
    if (H % this.o.cell || W % this.o.cell)
      throw new UserError(`${this.info.id}: cell ${this.o.cell} px does not divide the ${H}x${W} images; pick a divisor of both sides`);
    return (H / this.o.cell) * (W / this.o.cell);
  }

  score(input: ScoreInput): ScoreResult {
    const maps = input.maps;
    const { model, x } = modelOf(this.info, input, maps.n);
    const [, H, W] = x.shape;
    const cells = patchGrid(H, W, this.o.cell);
    const { x: fractions } = this.steps(this.cellCount(x));
    const data = x.dataSync() as Float32Array;
    const bar = this.o.progress === false ? null : new Progress(this.o.progress ?? this.info.label, maps.n);
    const y: number[][] = [];
    for (let i = 0; i < maps.n; i++) {
      const order = rankWithTies(cellScores(onImageGrid(maps, i, 0), H, W, 1, cells), this.o.rng.fork(`ties/${i}`));
      y.push(this.curves(model, x, data, i, maps.targets[i], [order])[0]);
      bar?.tick();
    }
    bar?.finish();
    return { metric: this.info.id, values: y.map((c) => trapezoid(fractions, c)), curve: { x: fractions, y } };
  }

  /** The mean area (and mean curve) over random cell orders, per image; `targets` are the explained classes. */
  chance(input: ChanceInput): ChanceResult {
    const { model, x } = modelOf(this.info, input);
    if (!input.targets || input.targets.length !== x.shape[0])
      throw new UserError(`${this.info.id}: the chance level needs one target class per image (${x.shape[0]})`);
    const n = x.shape[0];
    const count = this.cellCount(x);
    const { x: fractions } = this.steps(count);
    const data = x.dataSync() as Float32Array;
    const bar = this.o.progress === false ? null : new Progress(`${this.o.progress ?? this.info.label} (chance)`, n);
    const values: number[] = [];
    const curve: ScoreCurve = { x: fractions, y: [] };
    for (let i = 0; i < n; i++) {
      const rng = this.o.rng.fork(i);
      const orders = Array.from({ length: this.o.randomOrders }, () => rng.permutation(count));
      const ys = this.curves(model, x, data, i, input.targets[i], orders);
      values.push(ys.reduce((a, c) => a + trapezoid(fractions, c), 0) / ys.length);
      curve.y.push(fractions.map((_, j) => ys.reduce((a, c) => a + c[j], 0) / ys.length));
      bar?.tick();
    }
    bar?.finish();
    return { values, curve };
  }
}

export const DELETION_INFO: ScoreInfo = {
  id: 'deletion',
  label: 'Deletion AUC',
  direction: 'lower',
  needs: { model: true },
  summary: 'area under the class probability as cells are removed most important first (Petsiuk et al. 2018)',
};

export const INSERTION_INFO: ScoreInfo = {
  id: 'insertion',
  label: 'Insertion AUC',
  direction: 'higher',
  needs: { model: true },
  summary: 'area under the class probability as cells are restored most important first (Petsiuk et al. 2018)',
};

/** Deletion: step j hides the first k cells of the order. */
export class Deletion extends PerturbationCurve {
  readonly info = DELETION_INFO;
  protected hidden(order: readonly number[], k: number): number[] {
    return order.slice(0, k);
  }
}

/** Insertion: step j hides every cell but the first k of the order. */
export class Insertion extends PerturbationCurve {
  readonly info = INSERTION_INFO;
  protected hidden(order: readonly number[], k: number): number[] {
    return order.slice(k);
  }
}
