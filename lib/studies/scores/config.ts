import type { Scale } from '../types';

/**
 * The scores study's settings at three scales. The models are not configured here: they are the other studies' models
 * at the same scale (parts-birds: the visual-summaries study's ResNet-like, VGG-like and BagNet-17, and the ProtoPNet
 * study's pruned ProtoPNet from its run cache; facades: the
 * country-crops study's crop model and whole-image model), requested exactly as those studies request them so that
 * the model cache serves them. Every number the scale changes is a named field; results.json stores the config.
 */
export interface ScoresConfig {
  /** Test images explained and scored per dataset (labels cycle through the classes, so the first n are balanced). */
  images: number;
  /** Of those, the images of the randomisation cascade (it re-runs every method at every cascade point). */
  randomisationImages: number;
  /** Pointing game: pixels the part mask is grown by (the BagNet study's pointing tolerance). */
  pointingTolerance: number;
  /**
   * Deletion and insertion: cell side (px, divides 64), curve steps, random orders for the chance level; removed cells
   * take each image's mean colour, the Occlusion method's fill.
   */
  perturbation: { cell: number; steps: number; randomOrders: number };
  /** Randomisation cascade: points evaluated over 1..all weighted layers; correlate |map| or the signed map. */
  randomisation: { points: number; absolute: boolean };
  /**
   * The methods' cost options (each method's defaults otherwise): integrated-gradients steps; occlusion window and
   * stride (px); sliding-window stride (the window is the crop model's side); crisp-mask iterations per stage (the
   * reference: 300 and 150) and the images it explains (the first of the scored images: it optimises a mask per image,
   * by far the costliest method).
   */
  methods: {
    igSteps: number;
    occlusionWindow: number;
    occlusionStride: number;
    windowStride: number;
    maskIterations: [number, number];
    maskImages: number;
  };
  /** Images per dataset in the grid of maps. */
  gridImages: number;
  /** Bootstrap resamples of every interval. */
  resamples: number;
}

export const SCORES_CONFIGS: Record<Scale, ScoresConfig> = {
  quick: {
    images: 32,
    randomisationImages: 6,
    pointingTolerance: 2,
    perturbation: { cell: 8, steps: 16, randomOrders: 2 },
    randomisation: { points: 3, absolute: false },
    methods: { igSteps: 8, occlusionWindow: 16, occlusionStride: 8, windowStride: 8, maskIterations: [20, 10], maskImages: 6 },
    gridImages: 3,
    resamples: 2000,
  },
  standard: {
    images: 200,
    randomisationImages: 40,
    pointingTolerance: 2,
    perturbation: { cell: 4, steps: 16, randomOrders: 8 },
    randomisation: { points: 8, absolute: false },
    methods: { igSteps: 32, occlusionWindow: 16, occlusionStride: 4, windowStride: 4, maskIterations: [300, 150], maskImages: 40 },
    gridImages: 4,
    resamples: 2000,
  },
  full: {
    images: 500,
    randomisationImages: 100,
    pointingTolerance: 2,
    perturbation: { cell: 4, steps: 32, randomOrders: 16 },
    randomisation: { points: 16, absolute: false },
    methods: { igSteps: 64, occlusionWindow: 16, occlusionStride: 2, windowStride: 2, maskIterations: [300, 150], maskImages: 100 },
    gridImages: 6,
    resamples: 5000,
  },
};

/**
 * The claims' rules, fixed before the first run (never tuned to make a claim pass). Every quantity is a mean over
 * images (pooled over the models a method applies to) with a 95% bootstrap interval; a rule holds when the whole
 * interval is past its threshold, fails when it is wholly on the other side, and is inconclusive when it straddles.
 * - changedBelow: a method's maps "change" under model randomisation when the mean Spearman correlation between the
 *   trained and the fully re-initialised model's maps is below this (Adebayo et al. call maps that keep their
 *   structure under randomisation a failure; 0.5 = less than half the rank agreement remains);
 * - localisesAbove: a method localises the discriminative parts above chance when the mean of energy-in-mask minus
 *   its chance (the part's share of the image), paired per image, is above this (CAM, Grad-CAM, the BagNet maps and,
 *   from the run that added the ProtoPNet, its prototype activations: the same rule, set before that run);
 * - deletionMargin: occlusion scores best on deletion when, against every other method on the same models and
 *   images, the mean paired difference occlusion minus other (deletion AUC, lower is better) is below this;
 * - inputDominance: extension, gradient x input keeps more of its map under randomisation than saliency when the mean
 *   paired difference of their final correlations is above this;
 * - beatsRandomOrder: extension, a method's deletion beats a random order when the mean paired difference of its
 *   deletion AUC minus the random-order AUC is below this.
 */
export const CLAIM_RULES = {
  changedBelow: 0.5,
  localisesAbove: 0,
  deletionMargin: 0,
  inputDominance: 0,
  beatsRandomOrder: 0,
  level: 0.95,
};
