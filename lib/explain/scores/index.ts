import { EnergyInMask, ENERGY_IN_MASK_INFO, PointingGame, POINTING_GAME_INFO } from './localisation';
import type { ExplanationScore, ScoreInfo } from './metric';
import { Deletion, DELETION_INFO, Insertion, INSERTION_INFO, PerturbationOptions } from './perturbation';
import { ModelRandomisation, RandomisationOptions, RANDOMISATION_INFO } from './randomisation';
import { Sparseness, SPARSENESS_INFO } from './sparseness';

export * from './metric';
export { PointingGame, EnergyInMask } from './localisation';
export { Deletion, Insertion, trapezoid } from './perturbation';
export type { PerturbationOptions } from './perturbation';
export { ModelRandomisation, averageRanks, spearman, weightedUnits, cascadePoints } from './randomisation';
export type { RandomisationInput, RandomisationOptions, WeightedUnit } from './randomisation';
export { Sparseness, gini } from './sparseness';

/** Options of every score, by the score that reads them. */
export interface ScoreOptions {
  /** Pointing game: pixels the mask is grown by (default 0). */
  tolerance?: number;
  /** Deletion and insertion. */
  perturbation?: PerturbationOptions;
  /** Model randomisation. */
  randomisation?: RandomisationOptions;
}

/** A registered score: its metadata and its constructor. */
export interface ScoreEntry {
  info: ScoreInfo;
  create(options: ScoreOptions): ExplanationScore;
}

/** Every score of the suite, in display order. */
export const SCORES: ScoreEntry[] = [
  { info: POINTING_GAME_INFO, create: (o) => new PointingGame(o.tolerance) },
  { info: ENERGY_IN_MASK_INFO, create: () => new EnergyInMask() },
  { info: DELETION_INFO, create: (o) => new Deletion(o.perturbation) },
  { info: INSERTION_INFO, create: (o) => new Insertion(o.perturbation) },
  { info: RANDOMISATION_INFO, create: (o) => new ModelRandomisation(o.randomisation) },
  { info: SPARSENESS_INFO, create: () => new Sparseness() },
];
