import type { VggConfig } from '../../models/cnn';
import { CostCoefficients, PAPER_COEFFICIENTS } from '../../models/prototype';
import type { Scale } from '../types';

/**
 * The ProtoPNet study's settings at the three scales, and the claims' rules. Every number a scale changes is a named
 * field; results.json stores the scale's config as it is. The paper's values (reference code settings.py, main.py)
 * are in the comments.
 */

export interface DatasetPlan {
  dataset: 'fashion-mnist' | 'parts-birds' | 'cub';
  label: string;
  /** Training images per class (Fashion-MNIST, CUB) or in total (parts-birds); the same for the test set. */
  trainPerClass?: number;
  trainSize?: number;
  testPerClass?: number;
  testSize?: number;
  /** CUB only: image side after cropping to the bird's box (the paper: 224). */
  imageSize?: number;
  /** Share of the training images held out as a validation set (per-epoch curves; the test set is never looked at). */
  valFraction: number;
  /** The backbone (the paper: VGG-19 features including the last max-pool: a 7x7 map at 224 px). */
  backbone: VggConfig;
  /** Images per batch (the paper: 80 train, 100 test, 75 push). */
  batchSize: number;
  /** Plain-classifier training of the backbone with its own head, standing in for ImageNet pre-training (Adam, cosine). */
  pretrain: { epochs: number; lr: number };
  /** Add-on channels D (the paper: 128) and prototypes per class m_k (the paper: 10). */
  channels: number;
  perClass: number;
  /** Warm stage: add-on and prototypes only (the paper: 5 epochs, Adam 3e-3, weight decay 1e-3 on the add-on). */
  warm: { epochs: number; lr: number; weightDecay: number };
  /**
   * Joint stage: backbone at `featuresLr`, add-on and prototypes at `lr`, weight decay on backbone and add-on, StepLR
   * every `stepEpochs` by `gamma` (the paper: 1e-4, 3e-3, 1e-3, 5, 0.1); the last layer stays at its initialisation.
   */
  joint: { epochs: number; featuresLr: number; lr: number; weightDecay: number; stepEpochs: number; gamma: number };
  /** Push cycles: each is `joint.epochs` joint epochs, a push, then `lastLayer.epochs` (the paper: push every 10 epochs). */
  cycles: number;
  /** Last-layer-only stage after each push (the paper: 20 epochs, Adam 1e-4). */
  lastLayer: { epochs: number; lr: number };
  /** Loss coefficients (the paper: CE 1, Clst 0.8, Sep -0.08, L1 1e-4). */
  coefficients: CostCoefficients;
  /** Pruning: k nearest patches, tau of the prototype's class needed to stay, last-layer epochs after (the paper: 6, 3, 100 iterations). */
  prune: { k: number; tau: number; lastEpochs: number };
  /** Test images of the reasoning figure, prototypes per image shown there, and of the nearest-prototype table. */
  reasoningImages: number;
  topPrototypes: number;
  /** Prototypes shown in the gallery and in the nearest-patches figure (the first of each class, round robin). */
  galleryPrototypes: number;
  /** The faithfulness check: test images, occluder side and stride (px). */
  occlusion: { images: number; window: number; stride: number };
}

export interface ProtoPNetStudyConfig {
  datasets: DatasetPlan[];
}

const PAPER_STAGES = {
  warm: { lr: 3e-3, weightDecay: 1e-3 },
  joint: { featuresLr: 1e-4, lr: 3e-3, weightDecay: 1e-3, gamma: 0.1 },
  coefficients: PAPER_COEFFICIENTS,
};

/**
 * Rates of the quick and standard scales, which train a few epochs of 60-560 steps against the paper's ~750 (CUB x30
 * augmented, batch 80): add-on and prototypes 1e-2 (paper 3e-3), backbone 1e-3 (paper 1e-4). With the paper's rates the
 * prototypes barely left their U[0,1) start in a quick trial (validation accuracy 36% after warm-up, 48% at the end).
 */
const SMALL_DATA_RATES = {
  warm: { lr: 1e-2, weightDecay: 1e-3 },
  joint: { featuresLr: 1e-3, lr: 1e-2, weightDecay: 1e-3, gamma: 0.1 },
};

const FMNIST = {
  dataset: 'fashion-mnist' as const,
  label: 'Fashion-MNIST (28 px)',
  valFraction: 0.1,
  // Two stages of one 3x3 conv + max-pool: a 7x7 latent map as the paper's, receptive field 10 px (small, so boxes mean something).
  backbone: { family: 'vgg' as const, widths: [32, 64], convs: 1, hidden: 64 },
  batchSize: 64,
  ...PAPER_STAGES,
};

const BIRDS = {
  dataset: 'parts-birds' as const,
  label: 'parts-birds (64 px)',
  valFraction: 0.1,
  // Three stages of one 3x3 conv + max-pool: an 8x8 latent map, receptive field 22 px (a bird part is 6-20 px).
  backbone: { family: 'vgg' as const, widths: [16, 32, 64], convs: 1, hidden: 64 },
  batchSize: 64,
  ...PAPER_STAGES,
};

/** What the datasets of one scale share. */
const QUICK = {
  batchSize: 32,
  channels: 32,
  perClass: 5,
  warm: { ...SMALL_DATA_RATES.warm, epochs: 3 },
  cycles: 1,
  lastLayer: { epochs: 4, lr: 1e-2 },
  prune: { k: 6, tau: 3, lastEpochs: 2 },
  reasoningImages: 3,
  topPrototypes: 3,
  galleryPrototypes: 20,
};

const STANDARD = {
  channels: 64,
  perClass: 10,
  warm: { ...SMALL_DATA_RATES.warm, epochs: 3 },
  joint: { ...SMALL_DATA_RATES.joint, epochs: 6, stepEpochs: 5 },
  cycles: 2,
  lastLayer: { epochs: 6, lr: 3e-3 },
  prune: { k: 6, tau: 3, lastEpochs: 4 },
  reasoningImages: 4,
  topPrototypes: 3,
  galleryPrototypes: 30,
};

const FULL = {
  channels: 128,
  perClass: 10,
  warm: { ...PAPER_STAGES.warm, epochs: 5 },
  joint: { ...PAPER_STAGES.joint, epochs: 10, stepEpochs: 5 },
  cycles: 3,
  lastLayer: { epochs: 20, lr: 1e-4 },
  prune: { k: 6, tau: 3, lastEpochs: 20 },
  reasoningImages: 6,
  topPrototypes: 3,
  galleryPrototypes: 50,
};

export const PROTOPNET_CONFIGS: Record<Scale, ProtoPNetStudyConfig> = {
  quick: {
    datasets: [
      {
        ...FMNIST,
        ...QUICK,
        trainPerClass: 200,
        testPerClass: 100,
        pretrain: { epochs: 4, lr: 3e-3 },
        // Validation accuracy was still rising after 8 joint epochs in a trial (72%): 14 reach the plateau.
        joint: { ...SMALL_DATA_RATES.joint, epochs: 14, stepEpochs: 10 },
        occlusion: { images: 24, window: 6, stride: 2 },
      },
      {
        ...BIRDS,
        ...QUICK,
        trainSize: 800,
        testSize: 300,
        pretrain: { epochs: 6, lr: 3e-3 },
        joint: { ...SMALL_DATA_RATES.joint, epochs: 6, stepEpochs: 4 },
        occlusion: { images: 24, window: 12, stride: 4 },
      },
    ],
  },
  standard: {
    datasets: [
      {
        ...FMNIST,
        ...STANDARD,
        trainPerClass: 2000,
        testPerClass: 500,
        pretrain: { epochs: 8, lr: 2e-3 },
        occlusion: { images: 100, window: 6, stride: 2 },
      },
      {
        ...BIRDS,
        ...STANDARD,
        trainSize: 4000,
        testSize: 1000,
        pretrain: { epochs: 10, lr: 2e-3 },
        occlusion: { images: 100, window: 12, stride: 4 },
      },
    ],
  },
  full: {
    datasets: [
      {
        ...FMNIST,
        ...FULL,
        trainPerClass: 6000,
        testPerClass: 1000,
        backbone: { family: 'vgg', widths: [64, 128], convs: 2, hidden: 128 },
        pretrain: { epochs: 15, lr: 2e-3 },
        occlusion: { images: 500, window: 6, stride: 2 },
      },
      {
        ...FULL,
        dataset: 'cub',
        label: 'CUB-200-2011 (cropped to the bird, 64 px)',
        valFraction: 0.1,
        trainPerClass: 30,
        testPerClass: 30,
        imageSize: 64,
        backbone: { family: 'vgg', widths: [32, 64, 128], convs: 2, hidden: 256 },
        batchSize: 64,
        pretrain: { epochs: 30, lr: 1e-3 },
        coefficients: PAPER_COEFFICIENTS,
        occlusion: { images: 200, window: 12, stride: 4 },
      },
    ],
  },
};

/**
 * The claims' rules, fixed before any run (never tuned to make a claim pass).
 * - pushTolerance: after push, a prototype "is" a training patch when its squared distance to it is at most this;
 * - baselineMargin: ProtoPNet within this many accuracy points of the baseline (the paper's largest gap in Table 1:
 *   ResNet-152, 78.0 vs 81.5 = 3.5 points) [mem];
 * - recoveryMargin: after the last-layer stage, accuracy at least the pre-push accuracy minus this;
 * - purityThreshold: mean share of a prototype's k nearest training patches from its class (the pruning rule's tau/k);
 * - duplicateShare: at most this share of prototypes are duplicates of another (collapse);
 * - duplicateTolerance: squared latent distance under which two prototypes count as one;
 * - criticMissRate: the critique holds when the occlusion peak falls outside the 95th-percentile box more often than this;
 * - level: confidence level of every interval; resamples: bootstrap resamples.
 */
export const CLAIM_RULES = {
  pushTolerance: 1e-5,
  baselineMargin: 0.035,
  recoveryMargin: 0.02,
  purityThreshold: 0.5,
  duplicateShare: 0.25,
  duplicateTolerance: 1e-6,
  criticMissRate: 0.1,
  level: 0.95,
  resamples: 2000,
};
