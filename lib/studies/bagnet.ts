import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';
import { loadDataset } from '../data/index';
import { scrambleTiles } from '../data/transforms';
import { initEngine } from '../engine/index';
import { linearFit, logitCorrelation, mean, pearson, perClassAccuracy, pointingGame } from '../analysis/stats';
import { attribute, AttributionMethod } from '../explain/gradient';
import { pairOcclusion, PairEffect, planPairs } from '../explain/occlusion';
import { BagNetModel, bagnetGeometry, classPlanes, cropPatch, patchLogits, patchSweep, topPatches } from '../explain/patches';
import { cellScores, patchGrid, randomOrders, rankCells, removalCurve, RemovalCurve } from '../explain/removal';
import type { BagNetConfig } from '../models/bagnet';
import { countParams, ModelConfig, modelName } from '../models/index';
import { identityScatter, linePanels, panelRaster, PanelCell, rasterFigure } from '../plot/bagnet';
import { encodePng, fromBytes, Raster } from '../plot/images';
import { lineChart } from '../plot/line';
import { trainCached } from '../train/cache';
import { Rng } from '../util/rng';
import type { Claim, Figure, Scale, Study, StudyContext, StudyOutput } from './types';

/**
 * BagNets (Brendel & Bethge, "Approximating CNNs with Bag-of-local-Features models works surprisingly well on
 * ImageNet", ICLR 2019, arXiv 1904.00760), at laptop scale: BagNet-q for three patch sizes q and two CNNs of global
 * receptive field (a VGG-like and a deeper ResNet-like) on Fashion-MNIST (28 px) and on the parts-birds world (64 px,
 * with ground-truth discriminative parts). Figures 1-6 and the claims are described in notebooks/01-bagnet.ipynb.
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
  removal: { images: number; cell: number; ks: number[]; attribution: AttributionMethod; steps: number };
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

interface TrainedModel {
  key: string;
  label: string;
  kind: 'bagnet' | 'cnn';
  q?: number;
  config: ModelConfig;
  model: tf.LayersModel;
  params: number;
  trainSeconds: number;
  fromCache: boolean;
  accuracy: number;
}

/** Everything measured on one dataset (plain numbers: goes to results.json). */
export interface DatasetResult {
  dataset: string;
  label: string;
  trainImages: number;
  testImages: number;
  models: { key: string; label: string; kind: string; q: number | null; params: number; accuracy: number; trainSeconds: number; fromCache: boolean }[];
  patchMeanMaxError: Record<string, number>;
  scramble: { tiles: number[]; compareTile: number; accuracy: Record<string, number[]> };
  occlusion: { distances: number[]; r: Record<string, number[]>; interaction: Record<string, number[]>; pairs: number };
  removal: { ks: number[]; curves: Record<string, Record<string, { meanLogit: number[]; accuracy: number[] }>>; bagnetR2: number };
  correlation: { perClass: Record<string, number[]>; accuracyR: Record<string, Record<string, number>>; logitR: Record<string, Record<string, number>> };
  pointing?: Record<string, { hitRate: number; chance: number; massOnTarget: number; areaFraction: number; images: number }>;
  seconds: Record<string, number>;
}

async function loadData(plan: DatasetPlan, ctx: StudyContext): Promise<{ train: Dataset; test: Dataset }> {
  if (plan.dataset === 'fashion-mnist') {
    const [train, test] = await Promise.all([
      loadDataset('fashion-mnist', { split: 'train', data: ctx.data, limit: plan.trainPerClass, seed: ctx.seed }),
      loadDataset('fashion-mnist', { split: 'test', data: ctx.data, limit: plan.testPerClass, seed: ctx.seed }),
    ]);
    return { train, test };
  }
  const [train, test] = await Promise.all([
    loadDataset(plan.dataset, { split: 'train', size: plan.trainSize, seed: ctx.seed }),
    loadDataset(plan.dataset, { split: 'test', size: plan.testSize, seed: ctx.seed }),
  ]);
  return { train, test };
}

/** Logits [N,K] of a model on x, in batches. */
function predictAll(model: tf.LayersModel, x: tf.Tensor4D, batchSize = 128): Float32Array {
  const K = model.outputs[0].shape[1] as number;
  const out = new Float32Array(x.shape[0] * K);
  for (let i = 0; i < x.shape[0]; i += batchSize) {
    const nb = Math.min(batchSize, x.shape[0] - i);
    const l = tf.tidy(() => model.predict(x.slice([i, 0, 0, 0], [nb, -1, -1, -1])) as tf.Tensor2D);
    out.set(l.dataSync(), i * K);
    l.dispose();
  }
  return out;
}

function argmaxRows(logits: Float32Array, K: number): number[] {
  const n = logits.length / K;
  return Array.from({ length: n }, (_, i) => {
    let b = 0;
    for (let k = 1; k < K; k++) if (logits[i * K + k] > logits[i * K + b]) b = k;
    return b;
  });
}

function accuracyOf(pred: number[], labels: ArrayLike<number>): number {
  let c = 0;
  pred.forEach((p, i) => (c += p === labels[i] ? 1 : 0));
  return c / pred.length;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const fix = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

async function trainModels(plan: DatasetPlan, data: { train: Dataset; test: Dataset }, ctx: StudyContext): Promise<TrainedModel[]> {
  const specs: { key: string; label: string; kind: 'bagnet' | 'cnn'; q?: number; config: ModelConfig; epochs: number }[] = [
    ...plan.qs.map((q) => ({ key: `bagnet-q${q}`, label: `BagNet-${q}`, kind: 'bagnet' as const, q, config: { family: 'bagnet' as const, q, ...plan.bagnet }, epochs: plan.epochs })),
    ...plan.cnns.map((c) => ({ key: modelName(c.config), label: c.label, kind: 'cnn' as const, config: c.config, epochs: c.epochs ?? plan.epochs })),
  ];
  const out: TrainedModel[] = [];
  for (const s of specs) {
    const cached = await trainCached({
      config: s.config,
      data: { train: data.train },
      train: { epochs: s.epochs, batchSize: plan.batchSize, optimizer: { type: 'adam', lr: plan.lr }, schedule: { type: 'cosine' } },
      seed: ctx.seed,
      name: `${plan.dataset}-${modelName(s.config)}`,
      progress: `${plan.dataset} ${s.label}`,
    });
    const trainSeconds = cached.result.history.reduce((a, h) => a + h.seconds, 0);
    out.push({ ...s, model: cached.model, params: countParams(cached.model), trainSeconds, fromCache: cached.fromCache, accuracy: NaN });
    console.log(`${plan.dataset} ${s.label}: ${s.epochs} epochs, ${trainSeconds.toFixed(1)} s${cached.fromCache ? ' (cached)' : ''}`);
  }
  return out;
}

/** Runs one dataset: trains (or loads) the models, measures everything, builds the dataset's figures. */
export async function runDataset(plan: DatasetPlan, ctx: StudyContext, rng: Rng): Promise<{ result: DatasetResult; figures: Figure[] }> {
  const seconds: Record<string, number> = {};
  let t0 = Date.now();
  const lap = (name: string) => {
    seconds[name] = (Date.now() - t0) / 1000;
    t0 = Date.now();
  };
  const data = await loadData(plan, ctx);
  lap('data');
  const models = await trainModels(plan, data, ctx);
  lap('training');
  const test = data.test;
  const K = test.numClasses;
  const [H, W, C] = test.imageShape;
  const nEval = Math.min(plan.evalImages, test.size);
  const evalIdx = Array.from({ length: nEval }, (_, i) => i);
  const { x: xEval, y: yEvalT } = test.batch(evalIdx);
  const labels = Array.from(yEvalT.dataSync());
  yEvalT.dispose();
  const bagnets = models.filter((m) => m.kind === 'bagnet');
  const cnns = models.filter((m) => m.kind === 'cnn');
  const largest = bagnets[bagnets.length - 1];
  const asBag = (m: TrainedModel): BagNetModel => ({ model: m.model, config: m.config as BagNetConfig });
  const figures: Figure[] = [];
  const tag = plan.dataset;

  // ---- Figure 1 and 6: accuracy, per-class accuracy, logit correlation.
  const logits: Record<string, Float32Array> = {};
  const preds: Record<string, number[]> = {};
  for (const m of models) {
    logits[m.key] = predictAll(m.model, xEval);
    preds[m.key] = argmaxRows(logits[m.key], K);
    m.accuracy = accuracyOf(preds[m.key], labels);
  }
  const perClass: Record<string, number[]> = {};
  for (const m of models) perClass[m.key] = perClassAccuracy(preds[m.key], labels, K);
  const accuracyR: Record<string, Record<string, number>> = {};
  const logitR: Record<string, Record<string, number>> = {};
  for (const c of cnns) {
    accuracyR[c.key] = {};
    logitR[c.key] = {};
    for (const b of bagnets) {
      accuracyR[c.key][b.key] = pearson(perClass[b.key], perClass[c.key]);
      logitR[c.key][b.key] = logitCorrelation(logits[b.key], logits[c.key], K);
    }
  }
  figures.push({
    name: `fig1-accuracy-vs-q-${tag}`,
    caption: `Fig. 1: test accuracy (top-1, ${nEval} test images) of BagNet-q against q on ${plan.label}, with the CNNs as dashed reference lines (the paper's Fig. 1B).`,
    spec: lineChart({
      title: `Accuracy against patch size q — ${plan.label}`,
      xTitle: 'patch size q (pixels)',
      yTitle: 'test accuracy (top-1)',
      series: [
        { name: 'BagNet-q', x: bagnets.map((b) => b.q!), y: bagnets.map((b) => b.accuracy) },
        ...cnns.map((c) => ({ name: c.label, x: [plan.qs[0], plan.qs[plan.qs.length - 1]], y: [c.accuracy, c.accuracy], reference: true })),
      ],
    }),
  });
  figures.push({
    name: `fig6-per-class-accuracy-${tag}`,
    caption: `Fig. 6a: per-class accuracy of ${largest.label} against each CNN on ${plan.label} (one point per class; Pearson r in the legend).`,
    spec: identityScatter({
      title: `Per-class accuracy: ${largest.label} vs CNNs — ${plan.label}`,
      xTitle: `${largest.label} per-class accuracy`,
      yTitle: 'CNN per-class accuracy',
      sets: cnns.map((c) => ({ name: `${c.label} (r = ${fix(accuracyR[c.key][largest.key], 2)})`, x: perClass[largest.key], y: perClass[c.key], text: test.classNames })),
    }),
  });
  figures.push({
    name: `fig6-logit-correlation-${tag}`,
    caption: `Fig. 6b: correlation of BagNet-q logits with each CNN's logits (logits centred per image, Pearson r over images x classes) against q on ${plan.label} (the paper's Fig. 1C).`,
    spec: lineChart({
      title: `Logit correlation with the CNNs against q — ${plan.label}`,
      xTitle: 'patch size q (pixels)',
      yTitle: 'Pearson r of logits',
      series: cnns.map((c) => ({ name: c.label, x: bagnets.map((b) => b.q!), y: bagnets.map((b) => logitR[c.key][b.key]) })),
    }),
  });
  lap('accuracy');

  // ---- Claim 2: image logits = mean of patch logits.
  const patchMeanMaxError: Record<string, number> = {};
  const nCheck = Math.min(64, nEval);
  const xCheck = xEval.slice([0, 0, 0, 0], [nCheck, -1, -1, -1]);
  const patchMaps: Record<string, tf.Tensor4D> = {};
  for (const b of bagnets) {
    const maps = patchLogits(b.model, xCheck);
    const meanMap = tf.tidy(() => tf.mean(maps, [1, 2]));
    const a = meanMap.dataSync();
    const l = logits[b.key];
    let err = 0;
    for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - l[i]) / Math.max(1, Math.abs(l[i])));
    patchMeanMaxError[b.key] = err;
    meanMap.dispose();
    patchMaps[b.key] = maps;
  }
  lap('patch-mean');

  // ---- Figure 2: heatmaps, galleries, wrong predictions.
  // The exact per-pixel sweeps of every BagNet, once, for the first images (heatmaps, removal, pointing game).
  const nHeat = Math.min(plan.heatmapImages, nCheck);
  const nRem = Math.min(plan.removal.images, nEval);
  const nP = plan.pointing ? Math.min(plan.pointing.images, nEval) : 0;
  const nSweep = Math.max(nHeat, nRem, nP);
  const sweeps: Record<string, Float32Array> = {};
  {
    const xSweep = xEval.slice([0, 0, 0, 0], [nSweep, -1, -1, -1]);
    for (const b of bagnets) {
      const s = patchSweep(asBag(b), xSweep);
      sweeps[b.key] = s.dataSync() as Float32Array;
      s.dispose();
    }
    xSweep.dispose();
  }
  lap('sweeps');
  const imageRaster = (i: number): Raster => fromBytes(test.imageBytes(i), W, H, C);
  const heatRows: PanelCell[][] = [];
  for (let i = 0; i < nHeat; i++) {
    const row: PanelCell[] = [{ image: imageRaster(i) }];
    for (const b of bagnets) {
      const maps = patchMaps[b.key];
      const [, mh, mw] = maps.shape;
      const plane = classPlanes(maps.dataSync() as Float32Array, nCheck, mh * mw, K, labels)[i];
      row.push({ heat: plane, width: mw, height: mh });
      row.push({ heat: classPlanes(sweeps[b.key], nHeat, H * W, K, labels)[i], width: W, height: H }); // the first nHeat images of the sweep
    }
    heatRows.push(row);
  }
  const heatCols = ['image', ...bagnets.flatMap((b) => [`q=${b.q} map`, `q=${b.q} sweep`])];
  figures.push(
    await panelFigure(
      `fig2-heatmaps-${tag}`,
      `Fig. 2a: class evidence for the true class on ${plan.label} test images: per-location logit maps (one q x q patch every ${bagnetGeometry(largest.model).jump} px) and the exact per-pixel patch sweep, for each q (RdBu_r, symmetric, clipped at the 99th percentile; red = evidence for the class).`,
      `Class-evidence heatmaps — ${plan.label}`,
      heatRows,
      heatCols,
      heatRows.map((_, i) => test.classNames[labels[i]].slice(0, 26)),
      Math.max(1, Math.round(128 / W)),
    ),
  );
  // Gallery: per class, the patches with the highest class logit over the checked images (largest BagNet).
  {
    const maps = patchMaps[largest.key];
    const [, mh, mw] = maps.shape;
    const v = maps.dataSync() as Float32Array;
    const geo = bagnetGeometry(largest.model);
    const rows: PanelCell[][] = [];
    for (let c = 0; c < K; c++) {
      const scores = new Float32Array(nCheck * mh * mw);
      for (let u = 0; u < scores.length; u++) scores[u] = v[u * K + c];
      const top = topPatches(scores, nCheck, mh, mw, geo, plan.galleryPerClass);
      rows.push(top.map((p) => ({ image: cropPatch(test.imageBytes(p.image), H, W, C, p) })));
    }
    figures.push(
      await panelFigure(
        `fig2-gallery-${tag}`,
        `Fig. 2b: the ${plan.galleryPerClass} most predictive ${geo.q}x${geo.q} patches of every class (highest class logit of ${largest.label} over ${nCheck} test images) on ${plan.label}.`,
        `Top patches per class, ${largest.label}`,
        rows,
        rows[0].map((_, j) => `#${j + 1}`),
        test.classNames.map((n) => n.slice(0, 26)),
        4,
      ),
    );
    // Wrong predictions: the patches that pushed the predicted class over the true one.
    const wrong = Array.from({ length: nCheck }, (_, i) => i).filter((i) => preds[largest.key][i] !== labels[i]).slice(0, plan.wrongImages);
    if (wrong.length) {
      const wrongRows: PanelCell[][] = wrong.map((i) => {
        const p = preds[largest.key][i];
        const diff = new Float32Array(mh * mw);
        for (let u = 0; u < mh * mw; u++) diff[u] = v[(i * mh * mw + u) * K + p] - v[(i * mh * mw + u) * K + labels[i]];
        const top = topPatches(diff, 1, mh, mw, geo, 3);
        return [{ image: imageRaster(i) }, { heat: diff, width: mw, height: mh }, ...top.map((t) => ({ image: cropPatch(test.imageBytes(i), H, W, C, t) }))];
      });
      figures.push(
        await panelFigure(
          `fig2-wrong-${tag}`,
          `Fig. 2c: ${largest.label} mistakes on ${plan.label}: the image, the map of (predicted - true) class logits per patch, and the three patches that favour the wrong class most.`,
          `Behind wrong predictions, ${largest.label}`,
          wrongRows,
          ['image', 'pred - true', 'patch 1', 'patch 2', 'patch 3'],
          wrong.map((i) => `${test.classNames[labels[i]].slice(0, 12)} → ${test.classNames[preds[largest.key][i]].slice(0, 12)}`),
          Math.max(1, Math.round(128 / W)),
        ),
      );
    }
  }
  lap('heatmaps');

  // ---- Figure 3: scrambling.
  const scrambleAcc: Record<string, number[]> = {};
  for (const m of models) scrambleAcc[m.key] = [];
  for (const t of plan.tiles) {
    const xs = scrambleTiles(xEval, t, rng.fork(`scramble-${t}`));
    for (const m of models) scrambleAcc[m.key].push(accuracyOf(argmaxRows(predictAll(m.model, xs), K), labels));
    xs.dispose();
  }
  const scrambleSpec = lineChart({
    title: `Tile scrambling — ${plan.label}`,
    xTitle: 'tile size t (pixels)',
    yTitle: 'test accuracy (top-1)',
    logX: true,
    series: models.map((m) => ({ name: m.label, x: plan.tiles, y: scrambleAcc[m.key] })),
  });
  (scrambleSpec.layout.xaxis as Record<string, unknown>).tickvals = plan.tiles;
  figures.push({
    name: `fig3-scrambling-${tag}`,
    caption: `Fig. 3: accuracy on images whose t x t tiles are shuffled, against t, for every model on ${plan.label} (t = ${H}: unscrambled).`,
    spec: scrambleSpec,
  });
  lap('scrambling');

  // ---- Figure 4: pair occlusion.
  const occ = plan.occlusion;
  const nOcc = Math.min(occ.images, nEval);
  const xOcc = xEval.slice([0, 0, 0, 0], [nOcc, -1, -1, -1]);
  const pairRng = rng.fork('pairs');
  const plans = Array.from({ length: nOcc }, () => planPairs(H, W, occ.patch, occ.distances, occ.perDistance, pairRng));
  const distances = occ.distances.filter((d) => plans[0].pairs.some((p) => p.distance === d));
  const occR: Record<string, number[]> = {};
  const occI: Record<string, number[]> = {};
  const effectsOf: Record<string, PairEffect[]> = {};
  for (const m of models) {
    const eff = pairOcclusion(m.model, xOcc, labels.slice(0, nOcc), plans, 'mean', `${tag} occlusion ${m.label}`);
    effectsOf[m.key] = eff;
    occR[m.key] = distances.map((d) => {
      const e = eff.filter((p) => p.distance === d);
      return pearson(
        e.map((p) => p.deltaAB),
        e.map((p) => p.deltaA + p.deltaB),
      );
    });
    occI[m.key] = distances.map((d) => {
      const e = eff.filter((p) => p.distance === d);
      return mean(e.map((p) => Math.abs(p.deltaAB - p.deltaA - p.deltaB))) / Math.max(1e-12, mean(e.map((p) => Math.abs(p.deltaA) + Math.abs(p.deltaB))));
    });
  }
  xOcc.dispose();
  figures.push({
    name: `fig4-occlusion-r-${tag}`,
    caption: `Fig. 4a: Pearson r between the class-logit drop when two ${occ.patch}x${occ.patch} patches are masked together and the sum of the drops when each is masked alone, against the gap d between the patches (${nOcc} images, ${occ.perDistance} pairs per gap and image, mean-colour fill), per model on ${plan.label}. A BagNet is exactly additive for d >= q - 1.`,
    spec: lineChart({
      title: `Occlusion linearity against distance — ${plan.label}`,
      xTitle: 'gap d between the masked patches (pixels)',
      yTitle: 'Pearson r (joint vs summed drop)',
      series: models.map((m) => ({ name: m.label, x: distances, y: occR[m.key] })),
    }),
  });
  const dNear = distances[0];
  const dFar = distances[distances.length - 1];
  figures.push({
    name: `fig4-occlusion-scatter-${tag}`,
    caption: `Fig. 4b: joint against summed logit drops at the smallest (d=${dNear}) and largest (d=${dFar}) gap, for ${largest.label} and the CNNs on ${plan.label}.`,
    spec: identityScatter({
      title: `Joint vs summed occlusion effects — ${plan.label}`,
      xTitle: 'drop(a) + drop(b)',
      yTitle: 'drop(a and b)',
      sets: [largest, ...cnns].flatMap((m) =>
        [dNear, dFar].map((d) => {
          const e = effectsOf[m.key].filter((p) => p.distance === d);
          return { name: `${m.label}, d=${d}`, x: e.map((p) => p.deltaA + p.deltaB), y: e.map((p) => p.deltaAB) };
        }),
      ),
    }),
  });
  lap('occlusion');

  // ---- Figure 5: patch removal.
  const rem = plan.removal;
  const xRem = xEval.slice([0, 0, 0, 0], [nRem, -1, -1, -1]);
  const remLabels = labels.slice(0, nRem);
  const cells = patchGrid(H, W, rem.cell);
  const sweepPlanes = classPlanes(sweeps[largest.key], nRem, H * W, K, remLabels);
  const bagOrders = sweepPlanes.map((p) => rankCells(cellScores(p, H, W, 1, cells)));
  const randOrders = randomOrders(nRem, cells.length, rng.fork('removal-random'));
  const ks = rem.ks.filter((k) => k <= cells.length);
  const curves: Record<string, Record<string, RemovalCurve>> = {};
  for (const m of [largest, ...cnns]) {
    const attr = attribute(m.model, xRem, remLabels, { method: rem.attribution, steps: rem.steps });
    const a = attr.dataSync() as Float32Array;
    attr.dispose();
    const per = H * W * C;
    const gradOrders = Array.from({ length: nRem }, (_, i) => rankCells(cellScores(a.subarray(i * per, (i + 1) * per), H, W, C, cells)));
    curves[m.key] = {
      [`${largest.label} heatmap`]: removalCurve(m.model, xRem, remLabels, cells, bagOrders, ks, 'mean', `${tag} removal ${m.label}/bagnet`),
      [`own ${rem.attribution}`]: removalCurve(m.model, xRem, remLabels, cells, gradOrders, ks, 'mean', `${tag} removal ${m.label}/gradient`),
      random: removalCurve(m.model, xRem, remLabels, cells, randOrders, ks, 'mean', `${tag} removal ${m.label}/random`),
    };
  }
  xRem.dispose();
  const bagCurve = curves[largest.key][`${largest.label} heatmap`];
  const bagnetR2 = linearFit(ks, bagCurve.meanLogit).r2;
  const colours: Record<string, string> = { [`${largest.label} heatmap`]: '#d62728', [`own ${rem.attribution}`]: '#1f77b4', random: '#7f7f7f' };
  figures.push({
    name: `fig5-removal-logit-${tag}`,
    caption: `Fig. 5a: mean true-class logit after masking the k most predictive ${rem.cell}x${rem.cell} cells (mean-colour fill; ${nRem} images), cells ranked by ${largest.label}'s heatmap, by the model's own ${rem.attribution}, or at random; on ${plan.label}.`,
    spec: linePanels({
      title: `Patch removal: class logit — ${plan.label}`,
      xTitle: 'masked cells k',
      yTitle: 'mean true-class logit',
      colours,
      panels: [largest, ...cnns].map((m) => ({ title: m.label, series: Object.entries(curves[m.key]).map(([name, c]) => ({ name, x: c.ks, y: c.meanLogit })) })),
    }),
  });
  figures.push({
    name: `fig5-removal-accuracy-${tag}`,
    caption: `Fig. 5b: accuracy after masking the k most predictive cells, as in Fig. 5a, on ${plan.label}.`,
    spec: linePanels({
      title: `Patch removal: accuracy — ${plan.label}`,
      xTitle: 'masked cells k',
      yTitle: 'accuracy (top-1)',
      colours,
      panels: [largest, ...cnns].map((m) => ({ title: m.label, series: Object.entries(curves[m.key]).map(([name, c]) => ({ name, x: c.ks, y: c.accuracy })) })),
    }),
  });
  lap('removal');

  // ---- Pointing game on the discriminative parts.
  let pointing: DatasetResult['pointing'];
  const truth = test.truth;
  if (plan.pointing && truth.partMaps && truth.partNames && truth.discriminativeParts) {
    const masks: Uint8Array[] = [];
    for (let i = 0; i < nP; i++) {
      const allowed = new Set(truth.discriminativeParts[labels[i]].map((p) => truth.partNames!.indexOf(p) + 1));
      const m = new Uint8Array(H * W);
      for (let p = 0; p < H * W; p++) m[p] = allowed.has(truth.partMaps[i * H * W + p]) ? 1 : 0;
      masks.push(m);
    }
    pointing = {};
    const bars: { name: string; x: number[]; y: number[] }[] = [];
    for (const b of bagnets) {
      const planes = classPlanes(sweeps[b.key], nP, H * W, K, labels.slice(0, nP));
      const r = pointingGame(planes, masks, H, W, plan.pointing.tolerance);
      pointing[b.key] = { hitRate: r.hitRate, chance: r.chance, massOnTarget: r.massOnTarget, areaFraction: r.areaFraction, images: r.images };
    }
    bars.push({ name: 'pointing-game hit rate', x: bagnets.map((b) => b.q!), y: bagnets.map((b) => pointing![b.key].hitRate) });
    bars.push({ name: 'chance (random point)', x: bagnets.map((b) => b.q!), y: bagnets.map((b) => pointing![b.key].chance) });
    bars.push({ name: 'positive evidence on the parts', x: bagnets.map((b) => b.q!), y: bagnets.map((b) => pointing![b.key].massOnTarget) });
    bars.push({ name: 'area of the parts', x: bagnets.map((b) => b.q!), y: bagnets.map((b) => pointing![b.key].areaFraction) });
    figures.push({
      name: `fig2-pointing-${tag}`,
      caption: `Fig. 2d: do BagNet heatmaps (per-pixel sweep, true class) point at the class's discriminative parts? Pointing-game hit rate (maximum within ${plan.pointing.tolerance} px of a discriminative part) and the share of positive evidence on those parts, against q, with their chance levels, on ${nP} ${plan.label} test images.`,
      spec: lineChart({ title: `Heatmaps on the discriminative parts — ${plan.label}`, xTitle: 'patch size q (pixels)', yTitle: 'fraction', series: bars, yRange: [0, 1] }),
    });
    lap('pointing');
  }

  for (const t of Object.values(patchMaps)) t.dispose();
  xCheck.dispose();
  xEval.dispose();
  const result: DatasetResult = {
    dataset: plan.dataset,
    label: plan.label,
    trainImages: data.train.size,
    testImages: nEval,
    models: models.map((m) => ({ key: m.key, label: m.label, kind: m.kind, q: m.q ?? null, params: m.params, accuracy: m.accuracy, trainSeconds: m.trainSeconds, fromCache: m.fromCache })),
    patchMeanMaxError,
    scramble: { tiles: plan.tiles, compareTile: plan.scrambleCompareTile, accuracy: scrambleAcc },
    occlusion: { distances, r: occR, interaction: occI, pairs: Object.values(effectsOf)[0]?.length ?? 0 },
    removal: {
      ks,
      curves: Object.fromEntries(Object.entries(curves).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([n, c]) => [n, { meanLogit: c.meanLogit, accuracy: c.accuracy }]))])),
      bagnetR2,
    },
    correlation: { perClass, accuracyR, logitR },
    pointing,
    seconds,
  };
  for (const m of models) m.model.dispose();
  return { result, figures };
}

async function panelFigure(name: string, caption: string, title: string, rows: PanelCell[][], cols: string[], rowLabels: string[], scale: number): Promise<Figure> {
  const { raster, colCentres, rowCentres } = panelRaster(rows, scale);
  const png = await encodePng(raster);
  return {
    name,
    caption,
    spec: rasterFigure({
      title,
      png,
      width: raster.width,
      height: raster.height,
      colLabels: cols.map((text, j) => ({ x: colCentres[j], text })),
      rowLabels: rowLabels.map((text, i) => ({ y: rowCentres[i], text })),
    }),
  };
}

/** The claims, each with the paper's statement, our numbers and the rule (CLAIM_RULES) that decides it. */
export function bagnetClaims(results: DatasetResult[]): Claim[] {
  const R = CLAIM_RULES;
  const claims: Claim[] = [];
  const bags = (r: DatasetResult) => r.models.filter((m) => m.kind === 'bagnet');
  const cnns = (r: DatasetResult) => r.models.filter((m) => m.kind === 'cnn');
  const per = (f: (r: DatasetResult) => string) => results.map((r) => `${r.dataset}: ${f(r)}`).join('; ');

  // 1. Accuracy rises with q.
  const rises = results.map((r) => {
    const b = bags(r);
    return b.every((m, i) => i === 0 || m.accuracy >= b[i - 1].accuracy - R.accuracyDropTolerance) && b[b.length - 1].accuracy > b[0].accuracy;
  });
  claims.push({
    id: 'accuracy-rises-with-q',
    claim: 'BagNet accuracy rises with the patch size q',
    paper: 'ImageNet top-5: BagNet-9 ≈ 70%, BagNet-17 80.5%, BagNet-33 87.6% (Fig. 1B)',
    measured: per((r) => bags(r).map((m) => `q=${m.q} ${pct(m.accuracy)}`).join(', ')),
    pass: rises.every(Boolean),
    details: `pass when, on every dataset, accuracy never drops by more than ${R.accuracyDropTolerance * 100} points from one q to the next and the largest q beats the smallest (top-1 on the test subset)`,
  });
  // 2. Largest BagNet close to the VGG-like.
  const close = results.map((r) => {
    const b = bags(r);
    return b[b.length - 1].accuracy >= cnns(r)[0].accuracy - R.cnnMargin;
  });
  claims.push({
    id: 'largest-bagnet-near-cnn',
    claim: `The largest BagNet comes within ${R.cnnMargin * 100} points of the VGG-like CNN`,
    paper: 'BagNet-33 87.6% top-5 vs VGG-16 ≈ 90% (top-1 66.7% vs 71.6%); about AlexNet level for BagNet-17',
    measured: per((r) => {
      const b = bags(r);
      return `${b[b.length - 1].label} ${pct(b[b.length - 1].accuracy)} vs ${cnns(r).map((c) => `${c.label} ${pct(c.accuracy)}`).join(', ')}`;
    }),
    pass: close.every(Boolean),
    details: `pass when on every dataset the largest BagNet's top-1 accuracy is at least the VGG-like's minus ${R.cnnMargin * 100} points`,
  });
  // 3. Image logits = mean of patch logits.
  const worst = Math.max(...results.flatMap((r) => Object.values(r.patchMeanMaxError)));
  claims.push({
    id: 'logits-are-mean-of-patch-logits',
    claim: 'BagNet image logits are exactly the mean of its patch logits',
    paper: 'by construction: average pooling and the linear classifier commute (reference code, issue #23)',
    measured: `largest relative difference over all BagNets and checked images: ${worst.toExponential(2)}`,
    pass: worst <= R.patchMeanTolerance,
    details: `pass when max |logit - mean(patch logits)| / max(1, |logit|) <= ${R.patchMeanTolerance} (float32)`,
  });
  // 4. Scrambling.
  const scr = results.map((r) => {
    const t = r.scramble.tiles;
    const j = t.indexOf(Math.max(...t.filter((v) => v <= r.scramble.compareTile)));
    const full = t.length - 1; // the image size: unscrambled
    const drop = (key: string) => r.scramble.accuracy[key][full] - r.scramble.accuracy[key][j];
    const tile = t[j];
    const b = bags(r).filter((m) => (m.q ?? 0) <= tile);
    const c = cnns(r);
    const ok =
      b.length > 0 &&
      b.every((m) => drop(m.key) <= R.scrambleBarely && c.every((cn) => drop(m.key) < drop(cn.key))) &&
      drop(c[c.length - 1].key) >= drop(c[0].key);
    return { ok, text: `t=${tile}: drops ${[...b, ...c].map((m) => `${m.label} ${(100 * drop(m.key)).toFixed(1)}`).join(', ')} points` };
  });
  claims.push({
    id: 'scrambling',
    claim: 'With tiles at least q wide, scrambling barely moves BagNet accuracy; the CNNs drop more, the deeper one most',
    paper: 'texturised ImageNet: VGG-16 top-5 only 90.1% → 79.4%; ResNet-50 and DenseNet drop much more',
    measured: results.map((r, i) => `${r.dataset} ${scr[i].text}`).join('; '),
    pass: scr.every((s) => s.ok),
    details: `at the comparison tile size (config scrambleCompareTile), pass when every BagNet with q <= t loses at most ${R.scrambleBarely * 100} points and less than each CNN, and the ResNet-like loses at least as much as the VGG-like`,
  });
  // 5. Occlusion additivity.
  const add = results.map((r) => {
    const d = r.occlusion.distances;
    const okBag = bags(r).every((m) => d.every((dist, i) => dist < (m.q ?? 0) - 1 || r.occlusion.r[m.key][i] >= R.additiveR));
    const cn = cnns(r);
    const okCnn = cn.every((c) => r.occlusion.interaction[c.key][d.length - 1] < r.occlusion.interaction[c.key][0]);
    return { okBag, okCnn, r };
  });
  claims.push({
    id: 'occlusion-additive-beyond-q',
    claim: 'BagNet occlusion effects are additive beyond distance q (r = 1)',
    paper: 'BagNets are exactly linear in the occlusion of patches farther apart than the receptive field',
    measured: add
      .map(({ r }) => `${r.dataset}: ${bags(r).map((m) => `${m.label} r ${r.occlusion.distances.map((d, i) => `d${d}=${fix(r.occlusion.r[m.key][i], 4)}`).join(' ')}`).join('; ')}`)
      .join(' | '),
    pass: add.every((a) => a.okBag),
    details: `pass when every BagNet-q has Pearson r >= ${R.additiveR} between joint and summed drops at every measured gap d >= q - 1 (no q x q patch sees both masks)`,
  });
  claims.push({
    id: 'cnn-interactions-shrink',
    claim: "The CNNs' occlusion interactions shrink with distance",
    paper: 'VGG-16 shows few interactions between parts more than ~30 px apart; deeper ResNets/DenseNets interact over longer ranges',
    measured: add
      .map(({ r }) => `${r.dataset}: ${cnns(r).map((c) => `${c.label} |joint - sum| / (|a|+|b|) ${fix(r.occlusion.interaction[c.key][0])} at d=${r.occlusion.distances[0]} → ${fix(r.occlusion.interaction[c.key][r.occlusion.distances.length - 1])} at d=${r.occlusion.distances[r.occlusion.distances.length - 1]}, r ${fix(r.occlusion.r[c.key][0])} → ${fix(r.occlusion.r[c.key][r.occlusion.distances.length - 1])}`).join('; ')}`)
      .join(' | '),
    pass: add.every((a) => a.okCnn),
    details: 'pass when, for every CNN, the mean relative interaction |drop(a,b) - drop(a) - drop(b)| / mean(|drop(a)| + |drop(b)|) is smaller at the largest gap than at the smallest',
  });
  // 6. Removal.
  claims.push({
    id: 'removal-linear-for-bagnet',
    claim: 'BagNet logits decay close to linearly as its most predictive patches are masked',
    paper: 'BagNet evidence is a sum over patches, so masking patches removes their evidence one by one',
    measured: per((r) => `R² of a line through the mean logit vs k: ${fix(r.removal.bagnetR2, 4)}`),
    pass: results.every((r) => r.removal.bagnetR2 >= R.linearR2),
    details: `pass when R² >= ${R.linearR2} on every dataset (largest BagNet, cells ranked by its own per-pixel heatmap)`,
  });
  const faster = results.map((r) => {
    const big = bags(r)[bags(r).length - 1];
    const name = `${big.label} heatmap`;
    const k = r.removal.ks.length - 1;
    const parts = cnns(r).map((c) => {
      const cv = r.removal.curves[c.key];
      const auc = (y: number[]) => mean(y);
      return { c, bag: auc(cv[name].meanLogit), rand: auc(cv.random.meanLogit), grad: auc(Object.entries(cv).find(([n]) => n.startsWith('own'))![1].meanLogit), bagEnd: cv[name].meanLogit[k], randEnd: cv.random.meanLogit[k] };
    });
    return { r, parts };
  });
  claims.push({
    id: 'bagnet-patches-hurt-cnns',
    claim: 'Patches chosen by the BagNet heatmap hurt the CNNs faster than random patches',
    paper: 'BagNet-derived masks degrade VGG-16 fastest, faster than masks from attribution methods on the DNN itself',
    measured: faster
      .map(({ r, parts }) => `${r.dataset}: ${parts.map((p) => `${p.c.label} mean logit over k: BagNet-chosen ${fix(p.bag, 2)}, own gradient ${fix(p.grad, 2)}, random ${fix(p.rand, 2)}`).join('; ')}`)
      .join(' | '),
    pass: faster.every(({ parts }) => parts.every((p) => p.bag < p.rand)),
    details: 'pass when, for every CNN on every dataset, the mean true-class logit averaged over k (area under the curve) is lower with BagNet-chosen cells than with random cells',
  });
  claims.push({
    id: 'bagnet-patches-beat-own-gradient',
    claim: "BagNet-chosen patches hurt the VGG-like faster than its own gradient attribution's",
    paper: 'BagNet masks degrade VGG-16 fastest (and predict DenseNet-169 sensitivity better than DeepLIFT on DenseNet itself)',
    measured: faster.map(({ r, parts }) => `${r.dataset}: BagNet-chosen ${fix(parts[0].bag, 2)} vs own gradient ${fix(parts[0].grad, 2)}`).join('; '),
    pass: faster.every(({ parts }) => parts[0].bag < parts[0].grad),
    details: 'pass when, for the VGG-like on every dataset, the area under the logit curve is lower with BagNet-chosen cells than with its own attribution (integrated gradients)',
  });
  // 7. Pointing game.
  const withParts = results.filter((r) => r.pointing);
  if (withParts.length) {
    claims.push({
      id: 'heatmaps-on-discriminative-parts',
      claim: 'On the synthetic world, BagNet heatmaps put their mass on the discriminative parts',
      paper: 'qualitative in the paper (heatmaps highlight class-typical parts, e.g. fingers for "tench"); here checked against ground-truth parts',
      measured: withParts
        .map((r) => `${r.dataset}: ${Object.entries(r.pointing!).map(([k, p]) => `${k} hit ${pct(p.hitRate)} (chance ${pct(p.chance)}), evidence on parts ${pct(p.massOnTarget)} (area ${pct(p.areaFraction)})`).join('; ')}`)
        .join(' | '),
      pass: withParts.every((r) => Object.values(r.pointing!).every((p) => p.hitRate >= R.pointingFactor * p.chance)),
      details: `pass when for every BagNet the pointing-game hit rate is at least ${R.pointingFactor}x chance (chance = mean share of pixels within the tolerance of a discriminative part)`,
    });
  }
  // 8. Logit correlation with the CNNs rises with q.
  const corr = results.map((r) => {
    const b = bags(r);
    return cnns(r).every((c) => b.every((m, i) => i === 0 || r.correlation.logitR[c.key][m.key] >= r.correlation.logitR[c.key][b[i - 1].key] - R.logitCorrTolerance));
  });
  claims.push({
    id: 'logit-correlation-rises-with-q',
    claim: "BagNet logits correlate more with the CNNs' as q grows",
    paper: 'correlation of BagNet logits with VGG-16 logits rises with q (Fig. 1C); BagNet-33 and VGG-16 errors are "quite similar"',
    measured: per((r) => cnns(r).map((c) => `${c.label} r ${bags(r).map((m) => `q${m.q}=${fix(r.correlation.logitR[c.key][m.key], 3)}`).join(' ')}`).join('; ')),
    pass: corr.every(Boolean),
    details: `pass when, for every CNN and dataset, r never drops by more than ${R.logitCorrTolerance} from one q to the next`,
  });
  return claims;
}

export async function runBagNet(ctx: StudyContext): Promise<StudyOutput> {
  const engine = await initEngine();
  const cfg = BAGNET_CONFIGS[ctx.scale];
  const rng = new Rng(ctx.seed);
  const results: DatasetResult[] = [];
  const figures: Figure[] = [];
  for (const plan of cfg.datasets) {
    const out = await runDataset(plan, ctx, rng.fork(plan.dataset));
    results.push(out.result);
    figures.push(...out.figures);
  }
  return {
    results: { scale: ctx.scale, seed: ctx.seed, backend: engine.backend, engine: engine.detail, config: cfg, rules: CLAIM_RULES, datasets: results },
    claims: bagnetClaims(results),
    figures,
    tables: [
      {
        name: 'models',
        caption: 'Every model: parameters, test accuracy (top-1), training time.',
        rows: results.flatMap((r) => r.models.map((m) => ({ dataset: r.dataset, model: m.label, q: m.q ?? '', params: m.params, accuracy: Number(m.accuracy.toFixed(4)), trainSeconds: Number(m.trainSeconds.toFixed(1)), fromCache: m.fromCache }))),
      },
    ],
  };
}

export const study: Study = {
  name: 'bagnet',
  title: 'BagNets: bag-of-local-features models approximate CNNs',
  paper: 'Brendel & Bethge, "Approximating CNNs with Bag-of-local-Features models works surprisingly well on ImageNet", ICLR 2019 (arXiv 1904.00760)',
  summary:
    'BagNet-q (q = 5, 9, 17) against a VGG-like and a ResNet-like CNN on Fashion-MNIST and the parts-birds world: accuracy vs q, exact class-evidence heatmaps, tile scrambling, occlusion linearity, patch removal, error and logit correlation.',
  notebook: 'notebooks/01-bagnet.ipynb',
  run: runBagNet,
};
