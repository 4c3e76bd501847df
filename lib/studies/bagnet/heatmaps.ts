import { bagnetGeometry, classPlanes, patchSweep, ScoredPatch, topPatches } from '../../explain/patches';
import type { BagNetConfig } from '../../models/bagnet';
import type { AccuracyResult } from './accuracy';
import type { PatchMeanResult } from './patch-mean';
import { DatasetSession, firstImages, timed } from './session';

/**
 * The exact per-pixel sweeps of every BagNet, once, on the first counts.sweep images (the heatmaps, the removal and
 * the pointing game all read them): per BagNet key, flat [counts.sweep,H,W,K].
 */
export interface SweepResult {
  images: number;
  maps: Record<string, Float32Array>;
}

/** Runs `patchSweep` for every BagNet of the dataset. */
export function sweeps(ds: DatasetSession): SweepResult {
  return timed(ds, 'sweeps', () => {
    const xSweep = firstImages(ds.x, ds.counts.sweep);
    const maps: Record<string, Float32Array> = {};
    for (const b of ds.bagnets) {
      const s = patchSweep({ model: b.model, config: b.config as BagNetConfig }, xSweep);
      maps[b.key] = s.dataSync() as Float32Array;
      s.dispose();
    }
    xSweep.dispose();
    return { images: ds.counts.sweep, maps };
  });
}

/** The true-class evidence of one image under one BagNet: its patch-logit map [h*w] and its per-pixel sweep [H*W]. */
export interface EvidencePlanes {
  map: Float32Array;
  sweep: Float32Array;
}

/** One wrong prediction of the largest BagNet: the (predicted - true) logit per patch [h*w] and its top patches. */
export interface WrongPrediction {
  image: number;
  label: number;
  predicted: number;
  diff: Float32Array;
  top: ScoredPatch[];
}

/** Figure 2 a-c, as data: heatmap planes, the top patches per class and the patches behind wrong predictions. */
export interface HeatmapResult {
  /** Patch-logit map size (h, w) per BagNet key. */
  mapSize: Record<string, { h: number; w: number }>;
  /** Per image (the first counts.heatmap), per BagNet key. */
  planes: Record<string, EvidencePlanes>[];
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
    const mapSize: HeatmapResult['mapSize'] = {};
    const perModel: Record<string, { maps: Float32Array[]; sweeps: Float32Array[] }> = {};
    for (const b of ds.bagnets) {
      const m = patch.maps[b.key];
      mapSize[b.key] = { h: m.h, w: m.w };
      perModel[b.key] = {
        maps: classPlanes(m.values, n, m.h * m.w, K, labels),
        sweeps: classPlanes(sweep.maps[b.key], nHeat, H * W, K, labels), // the first nHeat images of the sweep
      };
    }
    const planes = Array.from({ length: nHeat }, (_, i) =>
      Object.fromEntries(ds.bagnets.map((b) => [b.key, { map: perModel[b.key].maps[i], sweep: perModel[b.key].sweeps[i] }])),
    );
    // Gallery: per class, the patches with the highest class logit over the checked images (largest BagNet).
    const { values: v, h: mh, w: mw } = patch.maps[largest.key];
    const geometry = bagnetGeometry(largest.model);
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
      return { image: i, label: labels[i], predicted: p, diff, top: topPatches(diff, 1, mh, mw, geometry, 3) };
    });
    return { mapSize, planes, geometry, gallery, wrong };
  });
}
