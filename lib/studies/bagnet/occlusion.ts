import { mean, pearson } from '../../analysis/stats';
import { pairOcclusion, PairEffect, planPairs } from '../../explain/occlusion';
import type { DatasetPlan } from './config';
import { DatasetSession, firstImages, timed } from './session';

/** Figure 4 and claims 5-6: joint against summed logit drops of two masked patches, per gap d. */
export interface OcclusionResult {
  /** The settings used (the plan's unless overridden) and the number of images. */
  settings: DatasetPlan['occlusion'];
  images: number;
  /** The gaps the pair planner could place (a subset of settings.distances). */
  distances: number[];
  /** Per model key, per gap: Pearson r of joint vs summed drops, and the mean relative interaction. */
  r: Record<string, number[]>;
  interaction: Record<string, number[]>;
  /** Per model key: every measured pair. */
  effects: Record<string, PairEffect[]>;
}

/**
 * Masks pairs of p x p patches (mean colour) at the planned gaps on the first images, alone and together, for every
 * model. Relative interaction at gap d: mean |drop(a,b) - drop(a) - drop(b)| / mean(|drop(a)| + |drop(b)|).
 */
export function occlusion(ds: DatasetSession, overrides: Partial<DatasetPlan['occlusion']> = {}): OcclusionResult {
  return timed(ds, 'occlusion', () => {
    const settings = { ...ds.plan.occlusion, ...overrides };
    const [H, W] = ds.test.imageShape;
    const nOcc = Math.min(settings.images, ds.counts.eval);
    const xOcc = firstImages(ds.x, nOcc);
    const pairRng = ds.rng.fork('pairs');
    const plans = Array.from({ length: nOcc }, () => planPairs(H, W, settings.patch, settings.distances, settings.perDistance, pairRng));
    const distances = settings.distances.filter((d) => plans[0].pairs.some((p) => p.distance === d));
    const r: Record<string, number[]> = {};
    const interaction: Record<string, number[]> = {};
    const effects: Record<string, PairEffect[]> = {};
    for (const m of ds.models) {
      const eff = pairOcclusion(m.model, xOcc, ds.labels.slice(0, nOcc), plans, 'mean', `${ds.plan.dataset} occlusion ${m.label}`);
      effects[m.key] = eff;
      const atGap = (d: number) => eff.filter((p) => p.distance === d);
      r[m.key] = distances.map((d) => {
        const e = atGap(d);
        return pearson(
          e.map((p) => p.deltaAB),
          e.map((p) => p.deltaA + p.deltaB),
        );
      });
      interaction[m.key] = distances.map((d) => {
        const e = atGap(d);
        const single = mean(e.map((p) => Math.abs(p.deltaA) + Math.abs(p.deltaB)));
        return mean(e.map((p) => Math.abs(p.deltaAB - p.deltaA - p.deltaB))) / Math.max(1e-12, single);
      });
    }
    xOcc.dispose();
    return { settings, images: nOcc, distances, r, interaction, effects };
  });
}
