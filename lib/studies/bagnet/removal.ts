import { mean } from '../../analysis/stats';
import { firstImagesOf, plane, selectClasses } from '../../explain/heatmaps';
import { methodEntry } from '../../explain/index';
import type { GradientOptions } from '../../explain/gradient';
import { classLogitsOfVariants } from '../../explain/occlusion';
import { cellScores, patchGrid, randomOrders, rankCells, removalCurve, RemovalCurve } from '../../explain/removal';
import { UserError } from '../../util/errors';
import type { DatasetPlan } from './config';
import { diffOf, Estimate, estimate } from './estimates';
import type { SweepResult } from './heatmaps';
import { DatasetSession, firstImages, timed } from './session';

/** One ranking's removal curve on one model: means over images (and over the random orders). */
export interface CurveSummary {
  meanLogit: number[];
  accuracy: number[];
}

/** Figure 5 and its claims: class logit and accuracy as the k top-ranked grid cells are masked. */
export interface RemovalResult {
  settings: DatasetPlan['removal'];
  images: number;
  /** The numbers of masked cells that fit the grid. */
  ks: number[];
  /**
   * The rankings' names: by the largest BagNet's per-pixel sweep (the paper's heatmap), by its exact single-cell
   * masking effect, by each attribution method run on the masked model itself, and at random (averaged over orders).
   */
  names: { sweep: string; masking: string; methods: Record<string, string>; random: string };
  /** Per model key (the largest BagNet, then the CNNs), per ranking name: the curve. */
  curves: Record<string, Record<string, CurveSummary>>;
  /**
   * Per CNN key, paired over images, of the area under the logit curve (mean true-class logit over k, per image):
   * random minus BagNet-sweep ranking; each method's minus the BagNet-sweep ranking's; random minus BagNet-masking.
   * Positive = the BagNet's ranking hurts the model faster.
   */
  randomMinusSweep: Record<string, Estimate>;
  methodMinusSweep: Record<string, Record<string, Estimate>>;
  randomMinusMasking: Record<string, Estimate>;
}

/** A curve's per-image area: the mean over k of the image's true-class logit. */
function areas(c: RemovalCurve): number[] {
  return c.logits.map((row) => mean(row));
}

/**
 * Ranks the grid cells of each image by the largest BagNet (sweep and exact masking), by each attribution method on
 * the masked model, and at random (plan.randomOrders orders), then masks the top k (mean colour) for the largest
 * BagNet and every CNN. Needs sweeps of at least `images` images; `overrides` change the plan's removal settings.
 */
export function removal(ds: DatasetSession, sweep: SweepResult, overrides: Partial<DatasetPlan['removal']> = {}): RemovalResult {
  return timed(ds, 'removal', () => {
    const settings = { ...ds.plan.removal, ...overrides };
    const { largest, test } = ds;
    const [H, W, C] = test.imageShape;
    const n = Math.min(settings.images, ds.counts.eval);
    if (n > sweep.images) {
      const found = sweep.images;
      throw new UserError(`removal on ${n} images needs the sweeps of as many images, found ${found}; ask for at most ${found} images`);
    }
    const xRem = firstImages(ds.x, n);
    const labels = ds.labels.slice(0, n);
    const cells = patchGrid(H, W, settings.cell);
    const ks = settings.ks.filter((k) => k <= cells.length);
    const sweepPlanes = selectClasses(firstImagesOf(sweep.maps[largest.key], n), labels);
    const sweepOrders = labels.map((_, i) => rankCells(cellScores(plane(sweepPlanes, i), H, W, 1, cells)));
    // The BagNet's exact effect of masking each cell alone: its true-class logit drop.
    const data = xRem.dataSync() as Float32Array;
    const per = H * W * C;
    const maskingOrders = labels.map((label, i) => {
      const res = classLogitsOfVariants(
        largest.model,
        data.subarray(i * per, (i + 1) * per),
        [H, W, C],
        [[], ...cells.map((c) => [c])],
        'mean',
      );
      const t = res.target(label);
      return rankCells(cells.map((_, j) => t[0] - t[1 + j]));
    });
    const rngRandom = ds.rng.fork('removal-random');
    const randOrders = Array.from({ length: settings.randomOrders }, (_, r) => randomOrders(n, cells.length, rngRandom.fork(`order-${r}`)));
    const names = {
      sweep: `${largest.label} heatmap`,
      masking: `${largest.label} masking`,
      methods: Object.fromEntries(settings.methods.map((m) => [m, `own ${m}`])),
      random: `random (${settings.randomOrders} orders)`,
    };
    const curves: Record<string, Record<string, CurveSummary>> = {};
    const area: Record<string, Record<string, number[]>> = {};
    const tag = ds.plan.dataset;
    const summary = (c: RemovalCurve): CurveSummary => ({ meanLogit: c.meanLogit, accuracy: c.accuracy });
    for (const m of [largest, ...ds.cnns]) {
      const run = (orders: number[][], what: string) =>
        removalCurve(m.model, xRem, labels, cells, orders, ks, 'mean', `${tag} removal ${m.label}/${what}`);
      const byName: Record<string, RemovalCurve> = {
        [names.sweep]: run(sweepOrders, 'bagnet'),
        [names.masking]: run(maskingOrders, 'masking'),
      };
      for (const method of settings.methods) {
        const options: GradientOptions = { steps: settings.steps, baseline: settings.baseline };
        const own = methodEntry(method).create(m.model, {}).attribute(xRem, labels, options);
        const orders = labels.map((_, i) => rankCells(cellScores(plane(own, i), H, W, 1, cells)));
        byName[names.methods[method]] = run(orders, method);
      }
      curves[m.key] = Object.fromEntries(Object.entries(byName).map(([k, c]) => [k, summary(c)]));
      area[m.key] = Object.fromEntries(Object.entries(byName).map(([k, c]) => [k, areas(c)]));
      const randomCurves = randOrders.map((orders, r) => run(orders, `random ${r + 1}/${randOrders.length}`));
      const avg = (f: (c: RemovalCurve) => number[]) => f(randomCurves[0]).map((_, j) => mean(randomCurves.map((c) => f(c)[j])));
      curves[m.key][names.random] = { meanLogit: avg((c) => c.meanLogit), accuracy: avg((c) => c.accuracy) };
      area[m.key][names.random] = avg(areas);
    }
    xRem.dispose();
    const rng = ds.rng.fork('removal-bootstrap');
    const B = ds.resamples;
    const randomMinusSweep: Record<string, Estimate> = {};
    const randomMinusMasking: Record<string, Estimate> = {};
    const methodMinusSweep: Record<string, Record<string, Estimate>> = {};
    for (const c of ds.cnns) {
      const a = area[c.key];
      randomMinusSweep[c.key] = estimate(n, diffOf(a[names.random], a[names.sweep]), rng.fork(`random-${c.key}`), B);
      randomMinusMasking[c.key] = estimate(n, diffOf(a[names.random], a[names.masking]), rng.fork(`masking-${c.key}`), B);
      methodMinusSweep[c.key] = Object.fromEntries(
        settings.methods.map((m) => [m, estimate(n, diffOf(a[names.methods[m]], a[names.sweep]), rng.fork(`${m}-${c.key}`), B)]),
      );
    }
    return { settings, images: n, ks, names, curves, randomMinusSweep, methodMinusSweep, randomMinusMasking };
  });
}
