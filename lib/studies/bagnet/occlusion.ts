import { mean, pearson } from '../../analysis/stats';
import { pairOcclusion, PairEffect, planPairs } from '../../explain/occlusion';
import type { DatasetPlan } from './config';
import { Estimate, estimate, ratioOf } from './estimates';
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
  /**
   * Bootstrap over images, per CNN key: long-range (gap >= farGap) relative interaction over the touching one (gap
   * 0), and its long-range relative interaction; `deeperMinusShallower`: the last CNN's long-range interaction minus
   * the first's (same images and pairs).
   */
  farOverNear: Record<string, Estimate>;
  far: Record<string, Estimate>;
  deeperMinusShallower: Estimate;
}

/** Per image: sum of |drop(a,b) - drop(a) - drop(b)| and of |drop(a)| + |drop(b)| over its pairs with gap in range. */
export function interactionSums(
  effects: readonly PairEffect[],
  images: number,
  inRange: (d: number) => boolean,
): { num: number[]; den: number[] } {
  const num = new Array<number>(images).fill(0);
  const den = new Array<number>(images).fill(0);
  for (const p of effects) {
    if (!inRange(p.distance)) continue;
    num[p.image] += Math.abs(p.deltaAB - p.deltaA - p.deltaB);
    den[p.image] += Math.abs(p.deltaA) + Math.abs(p.deltaB);
  }
  return { num, den };
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
    const rng = ds.rng.fork('occlusion-bootstrap');
    const B = ds.resamples;
    const farOverNear: Record<string, Estimate> = {};
    const far: Record<string, Estimate> = {};
    const farSums: Record<string, { num: number[]; den: number[] }> = {};
    for (const c of ds.cnns) {
      const nearS = interactionSums(effects[c.key], nOcc, (d) => d === distances[0]);
      const farS = interactionSums(effects[c.key], nOcc, (d) => d >= settings.farGap);
      farSums[c.key] = farS;
      const near = ratioOf(nearS.num, nearS.den);
      const farR = ratioOf(farS.num, farS.den);
      farOverNear[c.key] = estimate(nOcc, (idx) => farR(idx) / near(idx), rng.fork(`ratio-${c.key}`), B);
      far[c.key] = estimate(nOcc, farR, rng.fork(`far-${c.key}`), B);
    }
    const [a, b] = [farSums[ds.cnns[0].key], farSums[ds.cnns[ds.cnns.length - 1].key]];
    const deeperMinusShallower = estimate(nOcc, (idx) => ratioOf(b.num, b.den)(idx) - ratioOf(a.num, a.den)(idx), rng.fork('deeper'), B);
    return { settings, images: nOcc, distances, r, interaction, effects, farOverNear, far, deeperMinusShallower };
  });
}
