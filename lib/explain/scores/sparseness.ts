import { onImageGrid } from '../heatmaps';
import { ExplanationScore, ScoreInfo, ScoreInput, ScoreResult } from './metric';

/**
 * Sparseness (Chalasani et al., "Concise Explanations of Neural Networks using Adversarial Training", ICML 2020): the
 * Gini index of the map's magnitudes, G = sum_k (2k - n - 1) v_(k) / (n sum_k v_k) over the n values sorted
 * ascending (k = 1..n): 0 when every pixel carries the same mass, (n - 1)/n when one pixel carries it all. Read on
 * the image's pixel grid (pixels no map cell covers are left out), so coarse and per-pixel maps are compared on the
 * same pixels; an all-zero map has no mass to concentrate and scores NaN. No chance level.
 */

/** Gini index of non-negative values (NaN when they sum to 0). */
export function gini(values: ArrayLike<number>): number {
  const v = Float64Array.from(values).sort();
  const n = v.length;
  let total = 0;
  let weighted = 0;
  for (let k = 0; k < n; k++) {
    total += v[k];
    weighted += (2 * (k + 1) - n - 1) * v[k];
  }
  return total > 0 ? weighted / (n * total) : NaN;
}

export const SPARSENESS_INFO: ScoreInfo = {
  id: 'sparseness',
  label: 'Sparseness (Gini)',
  direction: 'higher',
  needs: {},
  summary: "Gini index of the map's magnitudes on the image grid: 1 = all mass on one pixel (Chalasani et al. 2020)",
};

export class Sparseness implements ExplanationScore {
  readonly info = SPARSENESS_INFO;

  score(input: ScoreInput): ScoreResult {
    const values: number[] = [];
    for (let i = 0; i < input.maps.n; i++) {
      const grid = onImageGrid(input.maps, i, NaN);
      values.push(gini(grid.filter((v) => !Number.isNaN(v)).map(Math.abs)));
    }
    return { metric: this.info.id, values };
  }
}
