import { linearFit } from '../../analysis/stats';
import { firstImagesOf, plane, selectClasses } from '../../explain/heatmaps';
import { methodEntry } from '../../explain/index';
import type { GradientOptions } from '../../explain/gradient';
import { cellScores, patchGrid, randomOrders, rankCells, removalCurve, RemovalCurve } from '../../explain/removal';
import { UserError } from '../../util/errors';
import type { DatasetPlan } from './config';
import type { SweepResult } from './heatmaps';
import { DatasetSession, firstImages, timed } from './session';

/** Figure 5 and claims 6-7: class logit and accuracy as the k top-ranked grid cells are masked. */
export interface RemovalResult {
  settings: DatasetPlan['removal'];
  images: number;
  /** The numbers of masked cells that fit the grid. */
  ks: number[];
  /** The three rankings' curve names: by the largest BagNet's sweep, by the model's own attribution, at random. */
  names: { bagnet: string; own: string; random: string };
  /** Per model key (the largest BagNet, then the CNNs), per ranking name: the curve. */
  curves: Record<string, Record<string, RemovalCurve>>;
  /** R² of a line through the largest BagNet's own curve (its logit against k, cells ranked by its sweep). */
  bagnetR2: number;
}

/**
 * Ranks the grid cells of each image by the largest BagNet's per-pixel sweep (true class), by each model's own
 * attribution and at random, then masks the top k (mean colour) for the largest BagNet and every CNN.
 * Needs sweeps of at least `images` images; `overrides` change the plan's removal settings.
 */
export function removal(ds: DatasetSession, sweep: SweepResult, overrides: Partial<DatasetPlan['removal']> = {}): RemovalResult {
  return timed(ds, 'removal', () => {
    const settings = { ...ds.plan.removal, ...overrides };
    const { largest, test } = ds;
    const [H, W] = test.imageShape;
    const n = Math.min(settings.images, ds.counts.eval);
    if (n > sweep.images) {
      const found = sweep.images;
      throw new UserError(`removal on ${n} images needs the sweeps of as many images, found ${found}; ask for at most ${found} images`);
    }
    const xRem = firstImages(ds.x, n);
    const labels = ds.labels.slice(0, n);
    const cells = patchGrid(H, W, settings.cell);
    const sweepPlanes = selectClasses(firstImagesOf(sweep.maps[largest.key], n), labels);
    const bagOrders = labels.map((_, i) => rankCells(cellScores(plane(sweepPlanes, i), H, W, 1, cells)));
    const randOrders = randomOrders(n, cells.length, ds.rng.fork('removal-random'));
    const ks = settings.ks.filter((k) => k <= cells.length);
    const names = { bagnet: `${largest.label} heatmap`, own: `own ${settings.attribution}`, random: 'random' };
    const curves: Record<string, Record<string, RemovalCurve>> = {};
    const tag = ds.plan.dataset;
    for (const m of [largest, ...ds.cnns]) {
      const options: GradientOptions = { steps: settings.steps };
      const own = methodEntry(settings.attribution).create(m.model, {}).attribute(xRem, labels, options);
      const gradOrders = labels.map((_, i) => rankCells(cellScores(plane(own, i), H, W, 1, cells)));
      curves[m.key] = {
        [names.bagnet]: removalCurve(m.model, xRem, labels, cells, bagOrders, ks, 'mean', `${tag} removal ${m.label}/bagnet`),
        [names.own]: removalCurve(m.model, xRem, labels, cells, gradOrders, ks, 'mean', `${tag} removal ${m.label}/gradient`),
        [names.random]: removalCurve(m.model, xRem, labels, cells, randOrders, ks, 'mean', `${tag} removal ${m.label}/random`),
      };
    }
    xRem.dispose();
    const bagnetR2 = linearFit(ks, curves[largest.key][names.bagnet].meanLogit).r2;
    return { settings, images: n, ks, names, curves, bagnetR2 };
  });
}
