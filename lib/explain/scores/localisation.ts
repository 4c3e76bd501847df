import { dilate, pointingGame, PointingResult } from '../../analysis/stats';
import { onImageGrid } from '../heatmaps';
import { ChanceInput, ChanceResult, ExplanationScore, masksOf, ScoreInfo, ScoreInput, ScoreResult } from './metric';

/**
 * Localisation against ground-truth parts. Maps are read on the image's pixel grid (`onImageGrid`: each map cell a
 * tile centred on its field; pixels no tile covers hold no value), so per-pixel maps and coarse CAM or window maps
 * are scored on the same pixels. Both scores come from lib/analysis/stats `pointingGame`, applied one image at a
 * time so that every image gets its own score (images without a part pixel score NaN and are left out of means).
 */

/** `pointingGame` of every image alone (the map on its pixel grid, NaN where no cell lands), read by `pick`. */
function perImage(info: ScoreInfo, input: ScoreInput, tolerance: number, pick: (r: PointingResult) => number): ScoreResult {
  const { n, imageHeight: H, imageWidth: W } = input.maps;
  const masks = masksOf(info, input, n, H * W);
  return { metric: info.id, values: masks.map((m, i) => pick(pointingGame([onImageGrid(input.maps, i, NaN)], [m], H, W, tolerance))) };
}

/** Per image, the share of the image its mask covers once grown by `tolerance` px (NaN for an empty mask). */
function partShare(input: ChanceInput, tolerance: number): ChanceResult {
  const grown = (m: Uint8Array) => dilate(m, input.height, input.width, tolerance).reduce((a, v) => a + v, 0) / m.length;
  return { values: (input.masks ?? []).map((m) => (m.some((v) => v) ? grown(m) : NaN)) };
}

export const POINTING_GAME_INFO: ScoreInfo = {
  id: 'pointing-game',
  label: 'Pointing game',
  direction: 'higher',
  needs: { parts: true },
  summary: "1 when the map's maximum lies on a discriminative part grown by a tolerance (Zhang et al., ECCV 2016)",
};

/**
 * Pointing game: 1 when the map's highest pixel falls on the mask grown by `tolerance` pixels (Chebyshev), else 0.
 * Chance: the grown mask's share of the image (the hit rate of a uniformly random point).
 */
export class PointingGame implements ExplanationScore {
  readonly info = POINTING_GAME_INFO;
  /** `tolerance`: pixels the mask is grown by (default 0). */
  constructor(readonly tolerance = 0) {}

  score(input: ScoreInput): ScoreResult {
    return perImage(this.info, input, this.tolerance, (r) => r.hitRate);
  }

  chance(input: ChanceInput): ChanceResult {
    return partShare(input, this.tolerance);
  }
}

export const ENERGY_IN_MASK_INFO: ScoreInfo = {
  id: 'energy-in-mask',
  label: 'Energy in mask',
  direction: 'higher',
  needs: { parts: true },
  summary: "share of the map's positive mass on the discriminative parts (energy-based pointing game, Wang et al. 2020)",
};

/**
 * Energy in mask: the positive mass on the mask over the map's whole positive mass (negative evidence is not
 * mass; a map without positive mass scores 0). Chance: the mask's share of the image (what a uniform map scores).
 */
export class EnergyInMask implements ExplanationScore {
  readonly info = ENERGY_IN_MASK_INFO;

  score(input: ScoreInput): ScoreResult {
    return perImage(this.info, input, 0, (r) => r.massOnTarget);
  }

  chance(input: ChanceInput): ChanceResult {
    return partShare(input, 0);
  }
}
