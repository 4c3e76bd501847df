import { dilate, pointingGame } from '../../analysis/stats';
import { onImageGrid } from '../heatmaps';
import { ChanceInput, ChanceResult, ExplanationScore, masksOf, ScoreInfo, ScoreInput, ScoreResult } from './metric';

/**
 * Localisation against ground-truth parts. Maps are read on the image's pixel grid (`onImageGrid`: each map cell a
 * tile centred on its field; pixels no tile covers hold no value), so per-pixel maps and coarse CAM or window maps
 * are scored on the same pixels. Every image gets its own score (images without a part pixel score NaN and are left
 * out of means); energy in mask is lib/analysis/stats `pointingGame`'s massOnTarget applied one image at a time.
 */

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
 * When several pixels share the maximum (a binary mask's plateau, a coarse map's tile), the score is the share of
 * them that hit: the expected score of pointing at one of them at random (stats.pointingGame takes the first in
 * row order, which would score a plateau by its top-left pixel). Chance: the grown mask's share of the image (the
 * hit rate of a uniformly random point).
 */
export class PointingGame implements ExplanationScore {
  readonly info = POINTING_GAME_INFO;
  /** `tolerance`: pixels the mask is grown by (default 0). */
  constructor(readonly tolerance = 0) {}

  score(input: ScoreInput): ScoreResult {
    const { n, imageHeight: H, imageWidth: W } = input.maps;
    const masks = masksOf(this.info, input, n, H * W);
    const values = masks.map((m, i) => {
      if (!m.some((v) => v)) return NaN;
      const grown = dilate(m, H, W, this.tolerance);
      const map = onImageGrid(input.maps, i, NaN);
      let max = -Infinity;
      for (const v of map) if (v > max) max = v;
      let top = 0;
      let hits = 0;
      map.forEach((v, p) => {
        if (v === max) {
          top++;
          hits += grown[p];
        }
      });
      return hits / top;
    });
    return { metric: this.info.id, values };
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
    const { n, imageHeight: H, imageWidth: W } = input.maps;
    const masks = masksOf(this.info, input, n, H * W);
    // stats.pointingGame of one image at a time: its massOnTarget is this score.
    const values = masks.map((m, i) => pointingGame([onImageGrid(input.maps, i, NaN)], [m], H, W, 0).massOnTarget);
    return { metric: this.info.id, values };
  }

  chance(input: ChanceInput): ChanceResult {
    return partShare(input, 0);
  }
}
