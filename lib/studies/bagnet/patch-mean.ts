import * as tf from '@tensorflow/tfjs';
import type { ClassHeatmaps } from '../../explain/heatmaps';
import { BagNetPatchLogits } from '../../explain/patches';
import type { AccuracyResult } from './accuracy';
import { DatasetSession, firstImages, timed } from './session';

/** Claim 3: image logits = mean of patch logits; the maps themselves feed the heatmap figure and the gallery. */
export interface PatchMeanResult {
  /** Per BagNet key: max |logit - mean(patch logits)| / max(1, |logit|) over the checked images. */
  maxError: Record<string, number>;
  /** Per BagNet key: its patch-logit maps on the first counts.check images. */
  maps: Record<string, ClassHeatmaps>;
}

/** Compares each BagNet's image logits (from the accuracy step) with the mean of its patch logits. */
export function patchMean(ds: DatasetSession, acc: AccuracyResult): PatchMeanResult {
  return timed(ds, 'patch-mean', () => {
    const xCheck = firstImages(ds.x, ds.counts.check);
    const maxError: Record<string, number> = {};
    const maps: Record<string, ClassHeatmaps> = {};
    for (const b of ds.bagnets) {
      const m = new BagNetPatchLogits(b.model).allClasses(xCheck);
      const t = tf.tensor4d(m.values, [m.n, m.height, m.width, m.classes]);
      const meanMap = tf.tidy(() => tf.mean(t, [1, 2]));
      const a = meanMap.dataSync();
      const l = acc.logits[b.key];
      let err = 0;
      for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - l[i]) / Math.max(1, Math.abs(l[i])));
      maxError[b.key] = err;
      maps[b.key] = m;
      tf.dispose([meanMap, t]);
    }
    xCheck.dispose();
    return { maxError, maps };
  });
}
