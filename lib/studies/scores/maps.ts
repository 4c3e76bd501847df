import * as tf from '@tensorflow/tfjs';
import { firstImagesOf, Heatmaps, MethodEntry, METHODS } from '../../explain/index';
import { withInputSize } from '../../models/index';
import type { ScoresConfig } from './config';
import { modelContext, ScoredDataset, ScoredModel, ScoresSession, timed } from './session';

/**
 * Every applicable explanation method on every model: the maps of the scored images for their true class. A method
 * applies when its registry entry finds no problem with the model (lib/explain/index.ts `problem`), except the sliding
 * window, which needs a crop model (on a whole-image model its window is the whole image: one cell).
 */

/** A method not run on a model, and why. */
export interface Skipped {
  dataset: string;
  model: string;
  method: string;
  reason: string;
}

/** One method's maps on one model, with its wall time. */
export interface MethodMaps {
  dataset: string;
  model: string;
  method: string;
  maps: Heatmaps;
  seconds: number;
}

export interface MapsResult {
  maps: MethodMaps[];
  skipped: Skipped[];
}

/** Why `entry` does not run on model m (null when it does). */
export function methodProblem(entry: MethodEntry, m: ScoredModel): string | null {
  if (entry.info.id === 'sliding-window' && m.crop === null)
    return 'needs a crop model: on a whole-image model its one window is the image (the facades crop models have one)';
  const problem = entry.problem(m.model, modelContext(m));
  return problem ? `it ${problem}` : null;
}

/** How many of the scored images method `id` explains (all but the crisp mask, which explains `maskImages`). */
export function imagesFor(id: string, config: ScoresConfig, total: number): number {
  return id === 'crisp-mask' ? Math.min(total, config.methods.maskImages) : total;
}

/** The cost options of each method at the study's scale (each method's defaults otherwise). */
export function methodOptions(id: string, config: ScoresConfig, progress: string): Record<string, unknown> {
  const o = config.methods;
  switch (id) {
    case 'integrated-gradients':
      return { steps: o.igSteps };
    case 'occlusion':
      return { window: o.occlusionWindow, stride: o.occlusionStride };
    case 'sliding-window':
      return { stride: o.windowStride };
    case 'crisp-mask':
      return { stage1: { iterations: o.maskIterations[0] }, stage2: { iterations: o.maskIterations[1] }, progress };
    default:
      return {};
  }
}

/**
 * Maps of `entry` on `weights` (the model's own weights or a randomised copy of its architecture) for images x and
 * targets. The sliding window runs the same weights at the crop size.
 */
export function explainWith(
  entry: MethodEntry,
  m: ScoredModel,
  weights: tf.LayersModel,
  x: tf.Tensor4D,
  targets: number[],
  config: ScoresConfig,
  progress: string | false = false,
): Heatmaps {
  const [, , , c] = x.shape;
  const K = weights.outputs[0].shape[1] as number;
  const context = modelContext(m);
  const build = context.config;
  const target =
    m.crop === null || entry.info.id !== 'sliding-window' || !build
      ? weights
      : withInputSize(weights, build, { inputShape: [m.crop, m.crop, c], numClasses: K });
  try {
    const method = entry.create(target, context);
    const options = methodOptions(entry.info.id, config, progress === false ? '' : progress);
    if (entry.info.id === 'crisp-mask' && progress === false) options.progress = false;
    return method.attribute(x, targets, options);
  } finally {
    if (target !== weights) target.dispose();
  }
}

/** Every applicable method's maps on every model of one dataset. */
function datasetMaps(s: ScoresSession, d: ScoredDataset, out: MapsResult): void {
  for (const m of d.models) {
    for (const entry of METHODS) {
      const reason = methodProblem(entry, m);
      if (reason) {
        out.skipped.push({ dataset: d.name, model: m.key, method: entry.info.id, reason });
        continue;
      }
      const t0 = Date.now();
      const label = `${d.name} ${m.label} ${entry.info.label}`;
      const n = imagesFor(entry.info.id, s.config, d.labels.length);
      const x = n < d.labels.length ? d.x.slice(0, n) : d.x;
      const maps = explainWith(entry, m, m.model, x, d.labels.slice(0, n), s.config, `${label} masks`);
      if (x !== d.x) x.dispose();
      const seconds = (Date.now() - t0) / 1000;
      console.log(`${label}: ${maps.height}x${maps.width} maps of ${maps.n} images in ${seconds.toFixed(1)} s`);
      out.maps.push({ dataset: d.name, model: m.key, method: entry.info.id, maps, seconds });
    }
  }
}

/** The maps of every applicable method on every model of both worlds. */
export function computeMaps(s: ScoresSession): MapsResult {
  return timed(s, 'maps', () => {
    const out: MapsResult = { maps: [], skipped: [] };
    for (const d of s.datasets) datasetMaps(s, d, out);
    return out;
  });
}

/** The maps of one method on one model, for the first `count` images (all by default). */
export function mapsOf(r: MapsResult, dataset: string, model: string, method: string, count?: number): Heatmaps | undefined {
  const found = r.maps.find((m) => m.dataset === dataset && m.model === model && m.method === method)?.maps;
  return found && count !== undefined ? firstImagesOf(found, Math.min(count, found.n)) : found;
}
