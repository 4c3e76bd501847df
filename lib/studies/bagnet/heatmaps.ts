import { ClassHeatmaps, firstImagesOf, Heatmaps, selectClasses } from '../../explain/heatmaps';
import { BagNetSweep, ScoredPatch, topPatches } from '../../explain/patches';
import type { BagNetConfig } from '../../models/bagnet';
import type { AccuracyResult } from './accuracy';
import type { PatchMeanResult } from './patch-mean';
import { DatasetSession, firstImages, timed } from './session';

/**
 * The exact per-pixel sweeps of every BagNet, once, on the first counts.sweep images (the heatmaps, the removal and
 * the pointing game all read them): per BagNet key, every class [counts.sweep,H,W,K].
 */
export interface SweepResult {
  images: number;
  maps: Record<string, ClassHeatmaps>;
}

/** Runs the BagNet sweep method for every BagNet of the dataset. */
export function sweeps(ds: DatasetSession): SweepResult {
  return timed(ds, 'sweeps', () => {
    const xSweep = firstImages(ds.x, ds.counts.sweep);
    const maps: Record<string, ClassHeatmaps> = {};
    for (const b of ds.bagnets) maps[b.key] = new BagNetSweep(b.model, b.config as BagNetConfig).allClasses(xSweep);
    xSweep.dispose();
    return { images: ds.counts.sweep, maps };
  });
}

/** One wrong prediction of the largest BagNet: the (predicted - true) logit per patch (one map) and its top patches. */
export interface WrongPrediction {
  image: number;
  label: number;
  predicted: number;
  diff: Heatmaps;
  top: ScoredPatch[];
}

/** Figure 2 a-c, as data: heatmap planes, the top patches per class and the patches behind wrong predictions. */
export interface HeatmapResult {
  /** Per BagNet key, the true-class evidence of the first counts.heatmap images: patch-logit maps and per-pixel sweeps. */
  planes: Record<string, { maps: Heatmaps; sweeps: Heatmaps }>;
  /** Patch size, stride and offset of the largest BagNet's map. */
  geometry: { q: number; jump: number; start: number };
  /** Per class, the largest BagNet's galleryPerClass highest-logit patches over the checked images. */
  gallery: ScoredPatch[][];
  /** The largest BagNet's first wrongImages mistakes among the checked images. */
  wrong: WrongPrediction[];
}

/** Reads the heatmaps, galleries and mistakes off the patch-logit maps and the sweeps (no model runs). */
export function heatmaps(ds: DatasetSession, acc: AccuracyResult, patch: PatchMeanResult, sweep: SweepResult): HeatmapResult {
  return timed(ds, 'heatmaps', () => {
    const { labels, largest } = ds;
    const K = ds.test.numClasses;
    const [H, W] = ds.test.imageShape;
    const n = ds.counts.check;
    const nHeat = ds.counts.heatmap;
    const truth = labels.slice(0, nHeat);
    const planes = Object.fromEntries(
      ds.bagnets.map((b) => [
        b.key,
        {
          maps: selectClasses(firstImagesOf(patch.maps[b.key], nHeat), truth),
          sweeps: selectClasses(firstImagesOf(sweep.maps[b.key], nHeat), truth),
        },
      ]),
    );
    // Gallery: per class, the patches with the highest class logit over the checked images (largest BagNet).
    const largestMaps = patch.maps[largest.key];
    const { values: v, height: mh, width: mw } = largestMaps;
    const g = largestMaps.geometry.y;
    const geometry = { q: g.size, jump: g.jump, start: g.start };
    const gallery: ScoredPatch[][] = [];
    for (let c = 0; c < K; c++) {
      const scores = new Float32Array(n * mh * mw);
      for (let u = 0; u < scores.length; u++) scores[u] = v[u * K + c];
      gallery.push(topPatches(scores, n, mh, mw, geometry, ds.plan.galleryPerClass));
    }
    // Wrong predictions: the patches that pushed the predicted class over the true one.
    const preds = acc.preds[largest.key];
    const wrongIdx = Array.from({ length: n }, (_, i) => i)
      .filter((i) => preds[i] !== labels[i])
      .slice(0, ds.plan.wrongImages);
    const wrong = wrongIdx.map((i) => {
      const p = preds[i];
      const diff = new Float32Array(mh * mw);
      for (let u = 0; u < mh * mw; u++) diff[u] = v[(i * mh * mw + u) * K + p] - v[(i * mh * mw + u) * K + labels[i]];
      const { classes: _, ...frame } = largestMaps;
      const map: Heatmaps = { ...frame, n: 1, targets: [p], values: diff };
      return { image: i, label: labels[i], predicted: p, diff: map, top: topPatches(diff, 1, mh, mw, geometry, 3) };
    });
    return { planes, geometry, gallery, wrong };
  });
}
