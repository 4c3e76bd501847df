import { wilsonInterval } from '../../analysis/intervals';
import { pointingGame } from '../../analysis/stats';
import type { Interval } from '../types';
import { firstImagesOf, plane, selectClasses } from '../../explain/heatmaps';
import type { SweepResult } from './heatmaps';
import { DatasetSession, timed } from './session';

/** Pointing game of one BagNet's sweeps on the discriminative parts (fractions in [0,1]). */
export interface PointingScore {
  hitRate: number;
  /** Wilson interval of the hit rate over the images. */
  hitInterval: Interval;
  chance: number;
  massOnTarget: number;
  areaFraction: number;
  images: number;
}

/** Figure 2d and claim 8, per BagNet key; only for worlds with part maps and a pointing plan. */
export interface PointingResult {
  tolerance: number;
  images: number;
  scores: Record<string, PointingScore>;
}

/**
 * Do the BagNets' true-class sweeps point at the class's discriminative parts? undefined when the plan has no
 * pointing game or the dataset has no part maps (then the step records no time).
 */
export function pointing(ds: DatasetSession, sweep: SweepResult): PointingResult | undefined {
  const { plan, test, labels } = ds;
  const truth = test.truth;
  if (!plan.pointing || !truth.partMaps || !truth.partNames || !truth.discriminativeParts) return undefined;
  const { partMaps, partNames, discriminativeParts } = truth;
  const tolerance = plan.pointing.tolerance;
  return timed(ds, 'pointing', () => {
    const [H, W] = test.imageShape;
    const n = ds.counts.pointing;
    const masks: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const allowed = new Set(discriminativeParts[labels[i]].map((p) => partNames.indexOf(p) + 1));
      const m = new Uint8Array(H * W);
      for (let p = 0; p < H * W; p++) m[p] = allowed.has(partMaps[i * H * W + p]) ? 1 : 0;
      masks.push(m);
    }
    const scores: Record<string, PointingScore> = {};
    for (const b of ds.bagnets) {
      const maps = selectClasses(firstImagesOf(sweep.maps[b.key], n), labels.slice(0, n));
      const planes = labels.slice(0, n).map((_, i) => plane(maps, i));
      const r = pointingGame(planes, masks, H, W, tolerance);
      const { hitRate, chance, massOnTarget, areaFraction, images } = r;
      const hitInterval = wilsonInterval(Math.round(hitRate * images), images, 0.95, 'test images');
      scores[b.key] = { hitRate, hitInterval, chance, massOnTarget, areaFraction, images };
    }
    return { tolerance, images: n, scores };
  });
}
