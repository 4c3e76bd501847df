import type * as tf from '@tensorflow/tfjs';
import { pearson } from '../../analysis/stats';
import { UserError } from '../../util/errors';
import { Progress } from '../../util/progress';
import { plane } from '../heatmaps';
import { ChanceInput, ChanceResult, ExplanationScore, ScoreInfo, ScoreInput, ScoreResult } from './metric';

/**
 * The model-randomisation sanity check (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018), cascading
 * version: re-initialise the model's weighted layers from the output down, cumulatively, and compare each image's map
 * on the randomised model with its map on the trained one by Spearman's rank correlation. A map that explains the
 * model must change (correlation near 0); one that stays (near 1) shows the input, not what the model learned.
 *
 * A weighted layer is one with weights that is not a batch normalisation (convolution, dense, a ProtoPNet's prototype
 * layer); the batch-normalisation layers it feeds are re-initialised with it (a random convolution normalised by
 * trained statistics would be neither model). The new weights come from a freshly built model of the same
 * architecture (`fresh`, seeded by the caller), i.e. the architecture's own initialisers, as in the paper.
 */

/** Ranks 1..n of `values`, ties sharing the mean of their ranks. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let s = 0; s < n; ) {
    let e = s + 1;
    while (e < n && values[order[e]] === values[order[s]]) e++;
    const r = (s + 1 + e) / 2; // mean of ranks s+1..e
    for (let k = s; k < e; k++) ranks[order[k]] = r;
    s = e;
  }
  return ranks;
}

/**
 * Spearman's rank correlation: Pearson's correlation of the average ranks. A constant map has no ranking: against
 * another constant map it counts as identical (1), against a varying one as unrelated (0).
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: ${a.length} vs ${b.length} values`);
  const constant = (v: ArrayLike<number>) => Array.prototype.every.call(v, (x: number) => x === v[0]);
  const ca = constant(a);
  const cb = constant(b);
  if (ca || cb) return ca && cb ? 1 : 0;
  return pearson(averageRanks(a), averageRanks(b));
}

/** A weighted layer and the batch normalisations it feeds, by index in model.layers. */
export interface WeightedUnit {
  name: string;
  layers: number[];
}

/** The model's weighted layers (any but BatchNormalization), output first, each with the BatchNormalizations it feeds. */
export function weightedUnits(model: tf.LayersModel): WeightedUnit[] {
  const units: WeightedUnit[] = [];
  model.layers.forEach((layer, i) => {
    if (!layer.weights.length || layer.getClassName() === 'BatchNormalization') return;
    const bns = model.layers
      .map((l, j) => ({ l, j }))
      .filter(({ l }) => l.getClassName() === 'BatchNormalization' && l.inboundNodes[0]?.inboundLayers[0] === layer)
      .map(({ j }) => j);
    units.push({ name: layer.name, layers: [i, ...bns] });
  });
  return units.reverse();
}

/** Up to `points` numbers of randomised units in 1..total, spread evenly, always including 1 and total. */
export function cascadePoints(total: number, points: number): number[] {
  if (total < 1) return [];
  if (points >= total) return Array.from({ length: total }, (_, i) => i + 1);
  const out = new Set<number>();
  for (let j = 0; j < points; j++) out.add(Math.round(1 + ((total - 1) * j) / Math.max(1, points - 1)));
  return [...out].sort((a, b) => a - b);
}

export interface RandomisationOptions {
  /** Cascade points evaluated (numbers of randomised weighted layers, spread over 1..all). Default 6. */
  points?: number;
  /** Correlate |map| instead of the signed map (the paper shows both). Default false. */
  absolute?: boolean;
  /** Progress bar label, or false. */
  progress?: string | false;
}

export const RANDOMISATION_INFO: ScoreInfo = {
  id: 'randomisation',
  label: 'Model randomisation',
  direction: 'lower',
  needs: { model: true, method: true },
  summary: 'Spearman rank correlation of the maps of the trained and the fully re-initialised model (Adebayo et al. 2018)',
};

/** Input of the randomisation score: a factory of freshly initialised models of the explained architecture. */
export interface RandomisationInput extends ScoreInput {
  fresh?: () => tf.LayersModel;
}

/**
 * Model randomisation: per image, Spearman's correlation between the trained map and the map after re-initialising
 * the top k weighted layers, for k at `points` cascade points; the score is the value with every layer re-initialised
 * (lower = the map depends on what the model learned). Chance: 0 (maps unrelated to each other).
 */
export class ModelRandomisation implements ExplanationScore {
  readonly info = RANDOMISATION_INFO;
  constructor(readonly options: RandomisationOptions = {}) {}

  score(input: RandomisationInput): ScoreResult {
    const { maps, model, explain, fresh } = input;
    if (!model || !explain || !fresh)
      throw new UserError(`${this.info.id}: needs the model, a way to re-run the method (explain) and a fresh model of its architecture`);
    const work = fresh();
    try {
      const initial = work.layers.map((l) => l.getWeights().map((w) => w.clone()));
      if (work.layers.length !== model.layers.length)
        throw new UserError(
          `${this.info.id}: the fresh model has ${work.layers.length} layers, the explained one ${model.layers.length}; ` +
            'build the fresh model from the same config',
        );
      work.setWeights(model.getWeights());
      const units = weightedUnits(work);
      const ks = cascadePoints(units.length, this.options.points ?? 6);
      const abs = this.options.absolute ?? false;
      const value = (v: Float32Array) => (abs ? v.map(Math.abs) : v);
      const trained = Array.from({ length: maps.n }, (_, i) => value(plane(maps, i)));
      const y: number[][] = trained.map(() => []);
      const bar = this.options.progress === false ? null : new Progress(this.options.progress ?? this.info.label, ks.length);
      let done = 0;
      for (const k of ks) {
        for (; done < k; done++) for (const li of units[done].layers) work.layers[li].setWeights(initial[li]);
        const randomised = explain(work);
        for (let i = 0; i < maps.n; i++) y[i].push(spearman(trained[i], value(plane(randomised, i))));
        bar?.tick();
      }
      bar?.finish();
      initial.flat().forEach((t) => t.dispose());
      return { metric: this.info.id, values: y.map((r) => r[r.length - 1]), curve: { x: ks, y } };
    } finally {
      work.dispose();
    }
  }

  chance(input: ChanceInput): ChanceResult {
    const n = input.targets?.length ?? input.x?.shape[0] ?? 0;
    return { values: new Array(n).fill(0) };
  }
}
