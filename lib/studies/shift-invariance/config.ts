import type { ShiftBackground } from '../../data/synthetic/shifted';
import type { Antialias } from '../../models/common';
import type { GapConfig, VggConfig } from '../../models/cnn';
import type { Scale } from '../types';

/**
 * The shift-invariance study's settings at the three scales and the claims' rules. Every number the scale changes is
 * a named field here; results.json stores the scale's config as it is.
 */

/** An architecture: its builder config without the anti-aliasing, and the layers whose features are compared. */
export interface ShiftArchitecture {
  key: string;
  label: string;
  config: Omit<VggConfig, 'antialias'> | Omit<GapConfig, 'antialias'>;
  /** Layer names: an early conv (full resolution), the penultimate layer, the logits. */
  layers: { early: string; penultimate: string; logits: string };
}

/** One exhaustively shifted set: the test objects at one size on one background, every position of the grid. */
export interface ShiftCondition {
  name: string;
  label: string;
  objectSize: number;
  background: ShiftBackground;
}

export interface ShiftStudyConfig {
  /**
   * The objects (the paper: 200 COCO objects): 'fashion-mnist' items (train items to train on, test items to measure)
   * or 'shapes', the synthetic shapes of lib/data/synthetic/shifted (ten classes, one shape each, colour and stripes
   * drawn per object; other seeds give the validation, held-out and measured objects).
   */
  source: 'fashion-mnist' | 'shapes';
  /** Canvas side (the paper: 224 px). */
  canvas: number;
  /**
   * Training: objects per class, each pasted once per (size, background) at a uniformly random position;
   * `valPerClass` other objects pasted the same way are the validation split that shows the plateau (validation
   * accuracy after every epoch). Every model gets the same images, epochs, batch size and schedule.
   */
  train: {
    perClass: number;
    valPerClass: number;
    sizes: number[];
    backgrounds: ShiftBackground[];
    epochs: number;
    batchSize: number;
    lr: number;
  };
  /** Held-out accuracy: objects per class never trained on (Fashion-MNIST test items), pasted as the training images. */
  heldOutPerClass: number;
  architectures: ShiftArchitecture[];
  /** Anti-aliasing variants trained for every architecture ('none' = the baseline; Zhang's filters otherwise). */
  filters: Antialias[];
  /** Seeds (added to the run's seed): each trains every model anew; the maps of every seed enter the intervals. */
  seeds: number;
  /** The shifted sets (the paper: 75 px "small" and 125 px "large" objects on a white 224 px canvas). */
  conditions: ShiftCondition[];
  /** Shifted objects per condition, round robin over the classes (the paper: 200 COCO objects). */
  objects: number;
  /** Images per forward pass. */
  batchSize: number;
  /** Linear position probe: objects probed per condition, folds, ridge penalty (relative to the feature variance). */
  probe: { objects: number; folds: number; ridge: number };
  /** Circular-shift distance maps: objects (first condition), shifts 0..shifts-1 along each axis. */
  circular: { objects: number; shifts: number };
  /** Bootstrap resamples of every interval. */
  resamples: number;
}

const SMALL_NETS: ShiftArchitecture[] = [
  {
    key: 'vgg',
    label: 'VGG-like (flatten + fc)',
    // Two convs per stage (AlexNet has five before its fc layers): with one, the flatten + fc head barely learnt the
    // pasted items in the quick budget (first pass: held-out 0.32 after 4 epochs of 6000 images).
    config: { family: 'vgg', widths: [16, 32], convs: 2, hidden: 64 },
    layers: { early: 'stage1_conv1_relu', penultimate: 'fc', logits: 'logits' },
  },
  {
    key: 'gap',
    label: 'GAP-net (all-conv + GAP)',
    config: { family: 'gap', widths: [16, 32, 64], convs: 1 },
    layers: { early: 'stage1_conv1_relu', penultimate: 'gap', logits: 'logits' },
  },
];

/** Large and small objects on white (the paper's two settings), and optionally the large ones on noise. */
function conditions(large: number, small: number, noise: boolean): ShiftCondition[] {
  const c = (size: number, what: string, background: ShiftBackground): ShiftCondition => ({
    name: `${what}-${background}`,
    label: `${what} (${size} px) on ${background}`,
    objectSize: size,
    background,
  });
  return [c(large, 'large', 'white'), c(small, 'small', 'white'), ...(noise ? [c(large, 'large', 'noise')] : [])];
}

export const SHIFT_CONFIGS: Record<Scale, ShiftStudyConfig> = {
  // Quick: synthetic shapes on a 28 px canvas. Fashion-MNIST at 32 px did not reach a plateau in the budget (second
  // pass: 4 epochs of 8000 images, held-out 0.48-0.69, the GAP-nets still gaining 0.14-0.22 in the last epoch; probes
  // with 4000 images x 4-6 epochs still rose). On the shapes (validation split) the VGG-like pair, the slowest to
  // learn, still rose at the end of 4 and 6 epochs at lr 2e-3 (Bin-5: 0.57 -> 0.65, 0.87 -> 0.96) and flattened in 8;
  // at lr 3e-3 it flattened within 6 (0.996 -> 0.998), a quarter less training, but on engine 0.3.11 (whose first conv
  // and conv gradients round differently) the Bin-5 one died at 3e-3 in its second epoch (loss stuck at ln 10, every
  // relu off; the torch and cpu backends agree step for step, so it is the learning rate's edge, not a kernel): back
  // to 2e-3 for 8 epochs. Objects 10 and 16 px keep the paper's object/canvas ratios (75/224 and 125/224: 0.33 and
  // 0.56; here 0.36 and 0.57).
  quick: {
    source: 'shapes',
    canvas: 28,
    train: { perClass: 150, valPerClass: 50, sizes: [10, 16], backgrounds: ['white'], epochs: 10, batchSize: 32, lr: 2e-3 },
    heldOutPerClass: 30,
    architectures: SMALL_NETS,
    filters: ['none', 'bin-5'],
    seeds: 1,
    conditions: conditions(16, 10, false),
    objects: 10,
    batchSize: 512,
    probe: { objects: 8, folds: 5, ridge: 1 },
    circular: { objects: 4, shifts: 12 },
    resamples: 2000,
  },
  standard: {
    source: 'fashion-mnist',
    canvas: 40,
    train: { perClass: 1000, valPerClass: 100, sizes: [14, 24], backgrounds: ['white', 'noise'], epochs: 6, batchSize: 64, lr: 2e-3 },
    heldOutPerClass: 100,
    architectures: SMALL_NETS,
    filters: ['none', 'rect-2', 'tri-3', 'bin-5'],
    seeds: 2,
    conditions: conditions(24, 14, true),
    objects: 50,
    batchSize: 256,
    probe: { objects: 20, folds: 5, ridge: 1 },
    circular: { objects: 8, shifts: 16 },
    resamples: 2000,
  },
  full: {
    source: 'fashion-mnist',
    canvas: 64,
    train: { perClass: 3000, valPerClass: 300, sizes: [21, 36], backgrounds: ['white', 'noise'], epochs: 10, batchSize: 64, lr: 2e-3 },
    heldOutPerClass: 300,
    architectures: [
      { ...SMALL_NETS[0], config: { family: 'vgg', widths: [32, 64, 128], convs: 2, hidden: 128 } },
      { ...SMALL_NETS[1], config: { family: 'gap', widths: [32, 64, 128], convs: 2 } },
    ],
    filters: ['none', 'rect-2', 'tri-3', 'bin-5'],
    seeds: 3,
    conditions: conditions(36, 21, true),
    objects: 200,
    batchSize: 256,
    probe: { objects: 50, folds: 5, ridge: 1 },
    circular: { objects: 20, shifts: 32 },
    resamples: 2000,
  },
};

/**
 * The claims' rules, fixed before any run (never tuned to make a claim pass). Every rule reads a 95% bootstrap
 * interval over objects (per-object values averaged over seeds) against a threshold; "holds" needs the whole
 * interval on the claimed side, "inconclusive" when it straddles.
 * - layer: the layer the paper's table uses (ResNet-50 / MobileNetV2 logits);
 * - antialias: the anti-aliased variant the claims compare with the baseline (the paper pairs ResNet-50 with Bin-5);
 * - fallOff: "not globally invariant": mean cosine over the farthest third of positions below the nearest third
 *   by more than this (distance from the anchor);
 * - barely: "barely changes the corner anchors": |AA - baseline| of the mean corner cosine within this (the paper's
 *   corner changes are 0.003-0.012 on ResNet-50 and MobileNetV2);
 * - periodicPeak: "a period equal to the network stride": the baseline's periodic peak above this (1 = white noise);
 * - probeChance: "position stays linearly decodable": probe accuracy above this (chance 0.5);
 * - learnt: check that every model learnt the task: held-out accuracy above this (chance 0.1; Wilson interval).
 * - plateauGain: check that every model trained to a plateau: validation accuracy gained over the last third of the
 *   epochs below this (added in the second pass, before its first run, with the validation split).
 */
export const CLAIM_RULES = {
  layer: 'logits' as const,
  antialias: 'bin-5' as Antialias,
  fallOff: 0,
  barely: 0.02,
  periodicPeak: 2,
  probeChance: 0.75,
  learnt: 0.5,
  plateauGain: 0.05,
};

/**
 * Lee et al.'s mean cosine to the anchor (large / small objects), as the spec derives it from the authors' log.txt
 * (per-object sum of cosines divided by the positions); null where the spec has no number. Shown beside ours.
 */
export const PAPER_MEAN_COSINES: { model: string; C: [number, number]; TL: [number, number] | null; BR: [number, number] | null }[] = [
  { model: 'ResNet-50 (logits)', C: [0.961, 0.949], TL: [0.945, 0.921], BR: [0.93, 0.892] },
  { model: 'ResNet-50 AA Bin-5 (logits)', C: [0.975, 0.963], TL: [0.948, 0.909], BR: [0.939, 0.9] },
  { model: 'MobileNetV2 (logits)', C: [0.954, 0.935], TL: [0.931, 0.897], BR: [0.917, 0.869] },
  { model: 'MobileNetV2 AA (logits)', C: [0.97, 0.957], TL: [0.943, 0.908], BR: [0.934, 0.898] },
  { model: 'AlexNet fc7', C: [0.977, 0.967], TL: [0.949, 0.931], BR: [0.944, 0.923] },
  { model: 'AlexNet fc7 AA', C: [0.981, 0.971], TL: null, BR: null },
  { model: 'AlexNet fc6', C: [0.928, 0.874], TL: [0.83, 0.755], BR: null },
  { model: 'AlexNet fc8 (logits)', C: [0.955, 0.937], TL: null, BR: null },
  { model: 'AlexNet fc8 AA (logits)', C: [0.97, 0.956], TL: null, BR: null },
];
