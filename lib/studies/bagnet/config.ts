import type { GradientMethodId } from '../../explain/gradient';
import type { BagNetConfig } from '../../models/bagnet';
import type { ModelConfig } from '../../models/index';
import type { Scale } from '../types';

/**
 * The BagNet study's settings at the three scales and the claims' pass rules. Nothing here runs: the steps read a
 * DatasetPlan, results.json stores the scale's config as it is, so adding a field changes results.json.
 */

/** One dataset's part of the study. Every number that the scale changes is here, by name. */
export interface DatasetPlan {
  dataset: 'fashion-mnist' | 'parts-birds';
  label: string;
  /** Training images per class (Fashion-MNIST) or in total (generated worlds). */
  trainPerClass?: number;
  trainSize?: number;
  /** Test images per class / in total. */
  testPerClass?: number;
  testSize?: number;
  /** Training: epochs, batch, Adam learning rate (cosine schedule). */
  epochs: number;
  batchSize: number;
  lr: number;
  /** BagNet patch sizes (the paper: 9, 17, 33 at 224 px). */
  qs: number[];
  /** BagNet body: bottleneck widths, blocks and strides per stage (the paper: ResNet-50, [3,4,6,3], strides [2,2,2,1]). */
  bagnet: Omit<BagNetConfig, 'family' | 'q'>;
  /**
   * The reference CNNs, shallowest first (the paper: VGG-16, ResNet-50/152, DenseNet-169); `epochs` overrides the
   * plan's epochs for one CNN (the VGG-like is cheap and learns the birds more slowly than the BagNets).
   */
  cnns: { label: string; config: ModelConfig; epochs?: number }[];
  /** Test images used for the accuracy, scrambling and error-correlation figures. */
  evalImages: number;
  /** Tile sizes of the scrambling test (the image size = unscrambled). */
  tiles: number[];
  /** The tile size at which the scrambling claim compares models (BagNets with q <= this). */
  scrambleCompareTile: number;
  /** Pair occlusion: images, square patch side, gaps between the two patches, pairs per gap and image. */
  occlusion: { images: number; patch: number; distances: number[]; perDistance: number };
  /** Patch removal: images, grid cell side, numbers of masked cells, the CNNs' own attribution method. */
  removal: { images: number; cell: number; ks: number[]; attribution: GradientMethodId; steps: number };
  /** Heatmap figure: number of images; gallery: patches per class; wrong predictions shown. */
  heatmapImages: number;
  galleryPerClass: number;
  wrongImages: number;
  /** Pointing game on the discriminative parts (generated worlds with part maps only): images and tolerance (px). */
  pointing?: { images: number; tolerance: number };
}

export interface BagNetStudyConfig {
  datasets: DatasetPlan[];
}

const FMNIST_BASE = {
  dataset: 'fashion-mnist' as const,
  label: 'Fashion-MNIST (28 px)',
  bagnet: { widths: [32, 64, 128], strides: [2, 2, 1], expansion: 2 },
  qs: [5, 9, 17],
  tiles: [2, 4, 7, 14, 28],
  scrambleCompareTile: 14,
};

const BIRDS_BASE = {
  dataset: 'parts-birds' as const,
  label: 'parts-birds (64 px)',
  bagnet: { widths: [32, 64, 128], strides: [2, 2, 1], expansion: 2 },
  qs: [5, 9, 17],
  tiles: [4, 8, 16, 32, 64],
  scrambleCompareTile: 16,
};

export const BAGNET_CONFIGS: Record<Scale, BagNetStudyConfig> = {
  quick: {
    datasets: [
      {
        ...FMNIST_BASE,
        bagnet: { ...FMNIST_BASE.bagnet, widths: [16, 32, 64] },
        trainPerClass: 300,
        testPerClass: 50,
        epochs: 3,
        batchSize: 64,
        lr: 3e-3,
        cnns: [
          { label: 'VGG-like', config: { family: 'vgg', size: 'small' }, epochs: 6 },
          { label: 'ResNet-like', config: { family: 'resnet', size: 'small' } },
        ],
        evalImages: 500,
        occlusion: { images: 16, patch: 4, distances: [0, 2, 4, 8, 12, 16], perDistance: 6 },
        removal: { images: 48, cell: 4, ks: [0, 1, 2, 3, 4, 6, 8, 10, 12], attribution: 'integrated-gradients', steps: 8 },
        heatmapImages: 4,
        galleryPerClass: 6,
        wrongImages: 4,
      },
      {
        ...BIRDS_BASE,
        bagnet: { ...BIRDS_BASE.bagnet, widths: [16, 32, 64] },
        trainSize: 1000,
        testSize: 200,
        epochs: 4,
        batchSize: 64,
        lr: 3e-3,
        cnns: [
          { label: 'VGG-like', config: { family: 'vgg', size: 'small' }, epochs: 8 },
          { label: 'ResNet-like', config: { family: 'resnet', size: 'small' } },
        ],
        evalImages: 200,
        occlusion: { images: 8, patch: 6, distances: [0, 4, 8, 16, 24, 32], perDistance: 5 },
        removal: { images: 32, cell: 8, ks: [0, 1, 2, 3, 4, 6, 8, 10, 12], attribution: 'integrated-gradients', steps: 8 },
        heatmapImages: 4,
        galleryPerClass: 5,
        wrongImages: 4,
        pointing: { images: 48, tolerance: 2 },
      },
    ],
  },
  standard: {
    datasets: [
      {
        ...FMNIST_BASE,
        trainPerClass: 3000,
        testPerClass: 200,
        epochs: 8,
        batchSize: 64,
        lr: 2e-3,
        cnns: [
          { label: 'VGG-like', config: { family: 'vgg', size: 'medium' } },
          { label: 'ResNet-like', config: { family: 'resnet', size: 'medium' } },
        ],
        evalImages: 2000,
        occlusion: { images: 64, patch: 4, distances: [0, 2, 4, 8, 12, 16, 20], perDistance: 8 },
        removal: { images: 200, cell: 4, ks: [0, 1, 2, 3, 4, 6, 8, 10, 12, 16], attribution: 'integrated-gradients', steps: 16 },
        heatmapImages: 6,
        galleryPerClass: 8,
        wrongImages: 6,
      },
      {
        ...BIRDS_BASE,
        trainSize: 6000,
        testSize: 1000,
        epochs: 10,
        batchSize: 64,
        lr: 2e-3,
        cnns: [
          { label: 'VGG-like', config: { family: 'vgg', size: 'medium' } },
          { label: 'ResNet-like', config: { family: 'resnet', size: 'medium' } },
        ],
        evalImages: 1000,
        occlusion: { images: 48, patch: 6, distances: [0, 4, 8, 12, 16, 24, 32, 40], perDistance: 8 },
        removal: { images: 150, cell: 8, ks: [0, 1, 2, 3, 4, 6, 8, 10, 12, 16], attribution: 'integrated-gradients', steps: 16 },
        heatmapImages: 6,
        galleryPerClass: 8,
        wrongImages: 6,
        pointing: { images: 500, tolerance: 2 },
      },
    ],
  },
  full: {
    datasets: [
      {
        ...FMNIST_BASE,
        trainPerClass: 6000,
        testPerClass: 1000,
        epochs: 20,
        batchSize: 128,
        lr: 2e-3,
        bagnet: { widths: [64, 128, 256], blocks: [2, 2, 2], strides: [2, 2, 1], expansion: 2 },
        cnns: [
          { label: 'VGG-like', config: { family: 'vgg', size: 'large' } },
          { label: 'ResNet-like', config: { family: 'resnet', size: 'large' } },
        ],
        evalImages: 10000,
        occlusion: { images: 200, patch: 4, distances: [0, 2, 4, 8, 12, 16, 20], perDistance: 10 },
        removal: { images: 1000, cell: 4, ks: [0, 1, 2, 3, 4, 6, 8, 10, 12, 16, 20], attribution: 'integrated-gradients', steps: 32 },
        heatmapImages: 8,
        galleryPerClass: 10,
        wrongImages: 8,
      },
      {
        ...BIRDS_BASE,
        trainSize: 20000,
        testSize: 2000,
        epochs: 20,
        batchSize: 64,
        lr: 2e-3,
        bagnet: { widths: [64, 128, 256], blocks: [2, 2, 2], strides: [2, 2, 1], expansion: 2 },
        cnns: [
          { label: 'VGG-like', config: { family: 'vgg', size: 'large' } },
          { label: 'ResNet-like', config: { family: 'resnet', size: 'large' } },
        ],
        evalImages: 2000,
        occlusion: { images: 100, patch: 6, distances: [0, 4, 8, 12, 16, 24, 32, 40], perDistance: 10 },
        removal: { images: 500, cell: 8, ks: [0, 1, 2, 3, 4, 6, 8, 10, 12, 16, 20], attribution: 'integrated-gradients', steps: 32 },
        heatmapImages: 8,
        galleryPerClass: 10,
        wrongImages: 8,
        pointing: { images: 2000, tolerance: 2 },
      },
    ],
  },
};

/**
 * The pass rules of the claims, fixed before any run (never tuned to make a claim pass).
 * - accuracyDropTolerance: "rises with q" allows a step down of at most this much (test-set noise);
 * - cnnMargin: the largest BagNet within this many points of the VGG-like (the paper: BagNet-33 66.7% top-1 vs
 *   VGG-16 71.6%, about 5 points);
 * - patchMeanTolerance: |image logit - mean patch logit| in float32;
 * - scrambleBarely: "barely moves" = at most this drop (accuracy points) at the comparison tile size;
 * - additiveR: Pearson r counted as exact additivity;
 * - linearR2: R² of a line counted as "close to linear";
 * - pointingFactor: hit rate at least this multiple of chance;
 * - logitCorrTolerance: "rises with q" allows a step down of at most this much in r.
 */
export const CLAIM_RULES = {
  accuracyDropTolerance: 0.01,
  cnnMargin: 0.05,
  patchMeanTolerance: 1e-4,
  scrambleBarely: 0.1,
  additiveR: 0.999,
  linearR2: 0.95,
  pointingFactor: 2,
  logitCorrTolerance: 0.02,
};
