import type { Linkage } from '../../analysis/cluster';
import type { GapConfig } from '../../models/cnn';
import type { Scale } from '../types';

/**
 * The country-crops study's settings at the three scales and the claims' rules. The post (Kashin 2019, Yandex "guess
 * the country") used 800 px photos, crops of 160 and 256 px (0.2 and 0.32 of the side), SE-ResNeXt-101 from scratch
 * and CAM at stride 32; every number our scale changes is a named field here, and results.json stores it.
 */
export interface CountryCropsConfig {
  /** Image side in pixels (the facades world is drawn at this side; an ImageFolder is resized to it). */
  side: number;
  /** Generated training images (facades; a validation split is held out of them) and test images. */
  trainSize: number;
  testSize: number;
  /** Share of the training images held out for validation (the learning curves; no choice is made on the test set). */
  valFraction: number;
  /** Crop sides of the crop-trained models, smallest first (the post: 160 and 256 of 800 px). */
  crops: number[];
  /** The fully convolutional GAP classifier every model uses (crop models and the whole-image reference alike). */
  model: GapConfig;
  /** Training: the same epochs, batch, steps and cosine-decayed Adam for every model (a crop or the whole image per step). */
  epochs: number;
  batchSize: number;
  lr: number;
  /** Random crops per test image for the accuracy against crop size (the same centres for every crop size). */
  evalCropsPerImage: number;
  /** The crop model whose CAM and sliding window make the galleries (the post's 160 px model). */
  galleryCrop: number;
  /** Sliding-window stride in pixels (the post: overlapping windows; our CAM stride is 4). */
  windowStride: number;
  /** Test images per class explained for the galleries ("across many photos"). */
  imagesPerClass: number;
  /** Top crops per class and method pooled before clustering (the post: the top crops of a country). */
  topN: number;
  /** Clusters per class = gallery size (the post: a fixed number of clusters per country). */
  clusters: number;
  /** The linkage of the galleries; the other one is reported beside it. */
  linkage: Linkage;
  /** Random crops per image for the chance level of the cue proxy. */
  randomCropsPerImage: number;
  /** Bootstrap resamples of every interval. */
  resamples: number;
  /** Images in the CAM / sliding-window figure; pixels per image pixel in gallery PNGs of the user study. */
  figureImages: number;
  userStudyScale: number;
}

const BASE = {
  side: 64,
  valFraction: 0.1,
  batchSize: 64,
  lr: 3e-3,
  windowStride: 4,
  linkage: 'ward' as Linkage,
  resamples: 2000,
  figureImages: 4,
  userStudyScale: 4,
};

export const COUNTRY_CROPS_CONFIGS: Record<Scale, CountryCropsConfig> = {
  quick: {
    ...BASE,
    trainSize: 1200,
    testSize: 300,
    crops: [16, 24],
    model: { family: 'gap', widths: [16, 32, 64], convs: 1, batchNorm: true },
    epochs: 8,
    evalCropsPerImage: 4,
    galleryCrop: 16,
    imagesPerClass: 30,
    topN: 40,
    clusters: 6,
    randomCropsPerImage: 8,
  },
  standard: {
    ...BASE,
    trainSize: 3000,
    testSize: 600,
    crops: [16, 24, 32],
    model: { family: 'gap', widths: [32, 64, 128], convs: 2, batchNorm: true },
    epochs: 15,
    evalCropsPerImage: 8,
    galleryCrop: 16,
    imagesPerClass: 60,
    topN: 80,
    clusters: 8,
    randomCropsPerImage: 8,
  },
  full: {
    ...BASE,
    side: 128,
    trainSize: 6000,
    testSize: 1200,
    crops: [24, 32, 48],
    model: { family: 'gap', widths: [32, 64, 128, 128], convs: 2, batchNorm: true },
    epochs: 20,
    evalCropsPerImage: 8,
    galleryCrop: 24,
    windowStride: 8,
    imagesPerClass: 100,
    topN: 150,
    clusters: 8,
    randomCropsPerImage: 8,
  },
};

/**
 * The claims' rules, fixed before any run (see claims.ts for how each is read). Differences are "higher minus lower"
 * with 95% bootstrap intervals; a rule holds when the whole interval is past its threshold, fails when the whole
 * interval is on the other side, and is inconclusive when it straddles.
 */
export const CLAIM_RULES = {
  /** Accuracy on crops: largest crop minus smallest crop, paired by crop centre; holds above 0. */
  accuracyGain: 0,
  /** Share of positive CAM mass on signature cues: smallest crop model minus whole-image model; holds above 0. */
  detailGain: 0,
  /** max |mean(CAM) + bias - logit| / max(1, |logit|) over the explained images (float32). */
  camMeanTolerance: 1e-4,
  /** Cue share (mean share of signature-cue pixels per crop) of a method's top-N minus random crops; "far above" = 0.1. */
  cueAboveChance: 0.1,
  /** Diversity (mean pairwise feature distance) of the clustered gallery minus the plain top-k; holds above 0. */
  diversityGain: 0,
  /** Cue share of the sliding window's top-N minus CAM's: above 0 the window wins, below 0 CAM wins. */
  windowBeatsCam: 0,
};
