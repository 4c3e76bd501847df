import type { CrispMaskOptions } from '../../explain/crisp-mask';
import type { ModelConfig } from '../../models/index';
import type { Scale } from '../types';

/**
 * The visual-summaries study's settings at three scales. Every number the scale changes is a named field; the
 * reference code's values (Carletti et al. 2018; mcarletti/interpretable-visual-summaries and
 * godimarcovr/interpretable_visual_summaries) are the defaults where they fit 64 px images, and the notebook says what
 * changed and why. results.json stores the scale's config as it is.
 */

/** One architecture of the comparison: trained (or loaded from the model cache) like the BagNet study's birds models. */
export interface ArchitecturePlan {
  key: string;
  label: string;
  config: ModelConfig;
  epochs: number;
}

export interface VisualSummariesConfig {
  /** The world with ground-truth parts (64 px, 10 classes). */
  dataset: 'parts-birds';
  /** Training images, batch, Adam learning rate with a cosine schedule: the BagNet study's birds settings (shared cache). */
  trainSize: number;
  batchSize: number;
  lr: number;
  /** Test images: the accuracy of every architecture is measured on all of them; summaries use the first correct ones. */
  testSize: number;
  /** At least three architectures of clearly different accuracy (the paper: AlexNet, VGG-16, GoogLeNet, ResNet-50). */
  architectures: ArchitecturePlan[];
  /** Classes summarised (the paper: 18 or 74 ImageNet classes) and images per class and architecture (the paper: 10). */
  classes: number[];
  imagesPerClass: number;
  /** The crisp-mask optimisation (iterations per stage and pixel sizes scaled from 224 to 64 px). */
  masks: CrispMaskOptions;
  /** Regions: binarisation threshold of the crisp saliency, smallest component (fraction of the image). */
  regions: { threshold: number; minComponent: number };
  /** Selective Search: FH scale k, smoothing, smallest segment, smallest box side, most proposals per image. */
  proposals: { k: number; sigma: number; minSize: number; minSide: number; max: number };
  /** Proposal pruning (prune_rps_mask_fn, prune_rps_redundant_fn): box fraction inside the mask, overlap and area ratio. */
  pruning: { inside: number; sameRegion: number; scaleFactor: number; topScores: number };
  /** HOG of every proposal resized to window x window px; Proposal Flow LOM weights (LOM.m) and pixel offset scale. */
  hog: { window: number; cell: number };
  lom: { offsetRate: number; scaleRate: number; offsetScale: number; deleteByAspect: boolean };
  /** Affinity propagation (apcluster.m) and the preference rule: factor x the median of the shifted similarities. */
  clustering: { damping: number; maxIts: number; convIts: number; preferenceFactor: number };
  /** Summary cleaning: members shown (top-k), SSIM rules, smallest summary. */
  cleaning: { topK: number; clusterThreshold: number; memberThreshold: number; crop: number; minMembers: number };
  /** Ablation similarity: cosine of CNN features of the crops plus a relative-position term of this weight. */
  ablation: { positionWeight: number };
  /** Simulated annotators of the user study on the parts-birds truth. */
  userStudy: { annotators: number; perception: number; samePartYes: number; samePartPartly: number; summariesPerArchitecture: number };
  /** Bootstrap resamples of every interval. */
  resamples: number;
}

const BIRDS_TRAINING = { trainSize: 1000, batchSize: 64, lr: 3e-3 };
const BAGNET_BODY = { widths: [16, 32, 64], strides: [2, 2, 1], expansion: 2 };
const QUICK_ARCHITECTURES: ArchitecturePlan[] = [
  { key: 'resnet-small', label: 'ResNet-like', config: { family: 'resnet', size: 'small' }, epochs: 4 },
  { key: 'vgg-small', label: 'VGG-like', config: { family: 'vgg', size: 'small' }, epochs: 8 },
  { key: 'bagnet-q17', label: 'BagNet-17', config: { family: 'bagnet', q: 17, ...BAGNET_BODY }, epochs: 4 },
];

const COMMON = {
  dataset: 'parts-birds' as const,
  regions: { threshold: 0.5, minComponent: 0.01 },
  proposals: { k: 50, sigma: 0.8, minSize: 10, minSide: 4, max: 200 },
  pruning: { inside: 0.75, sameRegion: 0.5, scaleFactor: 2, topScores: 100 },
  hog: { window: 16, cell: 4 },
  lom: { offsetRate: 0.05, scaleRate: 0.3, offsetScale: 224 / 64, deleteByAspect: true },
  clustering: { damping: 0.9, maxIts: 1000, convIts: 100, preferenceFactor: 1.3 },
  cleaning: { topK: 10, clusterThreshold: 0.9, memberThreshold: 0.6, crop: 16, minMembers: 2 },
  ablation: { positionWeight: 0.5 },
  userStudy: { annotators: 5, perception: 0.85, samePartYes: 0.75, samePartPartly: 0.5, summariesPerArchitecture: 6 },
};

/** Pixel sizes of the reference at 224 px scaled to 64 px (x 64/224): blur 11x11 sigma 10 -> 5x5 sigma 3, mask blur 5 -> 1.5. */
const MASK_PIXELS = { blurSigma: 3, blurRadius: 2, maskScale: 8, maskBlurSigma: 1.5, initRadius: 0.25 };

export const VISUAL_SUMMARIES_CONFIGS: Record<Scale, VisualSummariesConfig> = {
  quick: {
    ...COMMON,
    ...BIRDS_TRAINING,
    testSize: 200,
    architectures: QUICK_ARCHITECTURES,
    classes: [0, 1, 2, 3, 4],
    imagesPerClass: 6,
    masks: { ...MASK_PIXELS, stage1: { iterations: 60 }, stage2: { iterations: 30 } },
    resamples: 2000,
  },
  standard: {
    ...COMMON,
    ...BIRDS_TRAINING,
    testSize: 500,
    architectures: QUICK_ARCHITECTURES,
    classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    imagesPerClass: 10,
    masks: { ...MASK_PIXELS, stage1: { iterations: 300 }, stage2: { iterations: 150 } },
    resamples: 2000,
  },
  full: {
    ...COMMON,
    trainSize: 6000,
    batchSize: 64,
    lr: 2e-3,
    testSize: 1000,
    architectures: [
      { key: 'resnet-small', label: 'ResNet-like', config: { family: 'resnet', size: 'small' }, epochs: 10 },
      { key: 'vgg-medium', label: 'VGG-like', config: { family: 'vgg', size: 'medium' }, epochs: 10 },
      {
        key: 'bagnet-q17',
        label: 'BagNet-17',
        config: { family: 'bagnet', q: 17, widths: [32, 64, 128], strides: [2, 2, 1], expansion: 2 },
        epochs: 10,
      },
    ],
    classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    imagesPerClass: 20,
    masks: { ...MASK_PIXELS, stage1: { iterations: 300 }, stage2: { iterations: 150 } },
    resamples: 2000,
  },
};

/**
 * The claims' rules, fixed before any run (never tuned to make a claim pass):
 * - maxArea: crisp masks are "sparse" when the mean perturbed fraction is below this (the reference's crisp masks
 *   cover small parts of the object; a quarter of a 64 px image is a whole bird's body);
 * - minDrop: blurring the crisp mask drops the class probability "strongly": mean drop (p0 - p)/p0 above this;
 * - purityMargin: summaries are part-pure beyond chance when mean purity minus the chance purity (same summaries with
 *   members drawn at random from the class's candidate regions) is above this;
 * - moreSummaries: better networks give more summaries when the most accurate architecture's mean summaries per class
 *   minus the least accurate's is above this (paired over classes);
 * - accuracyGap: the architectures differ "clearly" when the best and worst test accuracies differ by more than this.
 */
export const CLAIM_RULES = {
  maxArea: 0.25,
  minDrop: 0.5,
  purityMargin: 0,
  moreSummaries: 0,
  accuracyGap: 0.1,
};
