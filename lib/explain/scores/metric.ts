import type * as tf from '@tensorflow/tfjs';
import { UserError } from '../../util/errors';
import type { Heatmaps } from '../heatmaps';

/**
 * Scores of explanations (Quantus-like: one class per metric, its metadata on the class, one batched call). A score
 * reads a set of maps (one per image, for its target class) and what else it needs (ground-truth part masks, the
 * model and its images, a way to re-run the method on another model) and returns one number per image, so that
 * studies can put a bootstrap interval over images on the mean. Where a chance level exists (what a map that knows
 * nothing would score), `chance` gives it per image; it depends on the truth and the model, never on the maps, so a
 * study computes it once per model.
 */

/** What a score needs besides the maps. */
export interface ScoreNeeds {
  /** Ground-truth masks of the discriminative parts (`ScoreInput.masks`). */
  parts?: boolean;
  /** The model and the images it explains (`ScoreInput.model`, `ScoreInput.x`). */
  model?: boolean;
  /** Re-running the explanation method on other weights (`ScoreInput.explain`, `ScoreInput.randomised`). */
  method?: boolean;
}

export interface ScoreInfo {
  /** Short id used in results, e.g. "pointing-game". */
  id: string;
  /** Display label, e.g. "Pointing game". */
  label: string;
  /** Whether a higher or a lower score means a better explanation. */
  direction: 'higher' | 'lower';
  needs: ScoreNeeds;
  /** One line: what is measured, with the paper. */
  summary: string;
}

/** A model with some layers re-initialised (see randomisation.ts); the caller disposes it with `dispose`. */
export interface RandomisedModel {
  model: tf.LayersModel;
  /** How many of the model's weighted layers (counted from the output) are re-initialised. */
  layers: number;
}

/** Everything a score may read. Fields a score does not need may be left out. */
export interface ScoreInput {
  /** One map per image, for the image's target class. */
  maps: Heatmaps;
  /** Per image, the ground-truth mask [imageHeight * imageWidth] (1 = a pixel of a discriminative part). */
  masks?: readonly Uint8Array[];
  /** The model the maps explain, and its inputs x [n,H,W,C] in [0,1] (the images the maps were made on). */
  model?: tf.LayersModel;
  x?: tf.Tensor4D;
  /** The same method, options, images and targets on another model's weights. */
  explain?: (model: tf.LayersModel) => Heatmaps;
}

/** Per-image values along a curve (deletion: target probability against the fraction removed). */
export interface ScoreCurve {
  /** Shared x values. */
  x: number[];
  /** y[i][j]: image i at x[j]. */
  y: number[][];
}

export interface ScoreResult {
  metric: string;
  /** One score per image; NaN where the score is undefined for that image (e.g. an empty mask). */
  values: number[];
  curve?: ScoreCurve;
}

/** A chance level per image (and its curve, for curve scores). */
export interface ChanceResult {
  values: number[];
  curve?: ScoreCurve;
}

/** What a chance level reads: the truth, the model, the images' size and the explained classes (never the maps). */
export type ChanceInput = Omit<ScoreInput, 'maps' | 'explain'> & { height: number; width: number; targets?: readonly number[] };

/** A score of explanations. `chance` is absent when the score has no chance level. */
export interface ExplanationScore {
  readonly info: ScoreInfo;
  score(input: ScoreInput): ScoreResult;
  chance?(input: ChanceInput): ChanceResult;
}

/** The masks, checked against the maps' image size and count; a UserError saying what is missing otherwise. */
export function masksOf(info: ScoreInfo, input: Pick<ScoreInput, 'masks'>, n: number, hw: number): readonly Uint8Array[] {
  const masks = input.masks;
  if (!masks) throw new UserError(`${info.id}: needs ground-truth part masks (a dataset with part maps, e.g. parts-birds or facades)`);
  if (masks.length !== n) throw new UserError(`${info.id}: ${n} maps need ${n} masks, found ${masks.length}`);
  masks.forEach((m, i) => {
    if (m.length !== hw) throw new UserError(`${info.id}: mask ${i} holds ${m.length} pixels, the images have ${hw}`);
  });
  return masks;
}

/** The model and images, checked against the maps; a UserError otherwise. */
export function modelOf(info: ScoreInfo, input: Pick<ScoreInput, 'model' | 'x'>, n?: number): { model: tf.LayersModel; x: tf.Tensor4D } {
  if (!input.model || !input.x) throw new UserError(`${info.id}: needs the explained model and its images (model and x)`);
  if (n !== undefined && input.x.shape[0] !== n)
    throw new UserError(`${info.id}: ${n} maps need ${n} images, found ${input.x.shape[0]}; pass the images the maps were made on`);
  return { model: input.model, x: input.x };
}

/** Mean of the finite values (NaN when there is none). */
export function finiteMean(values: readonly number[]): number {
  let s = 0;
  let k = 0;
  for (const v of values) {
    if (Number.isFinite(v)) {
      s += v;
      k++;
    }
  }
  return k ? s / k : NaN;
}
