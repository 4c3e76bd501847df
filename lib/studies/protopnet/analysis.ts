import { bootstrapInterval, meanInterval, wilsonInterval } from '../../analysis/intervals';
import { maxSimilarities, PrototypeActivations, SimilarityMaps } from '../../explain/prototype';
import { Occlusion } from '../../explain/window';
import type { Heatmaps } from '../../explain/heatmaps';
import {
  cellBox,
  getPrototypes,
  highActivationBox,
  latentModel,
  nearestClassPatches,
  PROTO_LAYERS,
  similarityModel,
  upsample,
} from '../../models/prototype';
import { accuracyOf, argmaxRows, predictLogits } from '../../train/metrics';
import type { Interval } from '../types';
import { CLAIM_RULES } from './config';
import { DatasetSession, timed } from './session';
import type { ProtoPNetRun } from './train';

/** A box [y0, x0, y1, x1) in image pixels. */
export type Box = [number, number, number, number];

const R = CLAIM_RULES;
const bootstrap = { resamples: R.resamples, level: R.level };

/** One row of the accuracy table. */
export interface AccuracyRow {
  model: string;
  accuracy: number;
  /** Wilson interval of the accuracy over test images. */
  interval: Interval;
  /** Accuracy minus the baseline's, with a paired bootstrap interval over test images (null for the baseline). */
  vsBaseline: { difference: number; interval: Interval } | null;
}

export interface AccuracyResult {
  rows: AccuracyRow[];
  /** Accuracy after the last-layer stage minus before the (last) push, paired bootstrap over test images. */
  recovery: { difference: number; interval: Interval };
  testImages: number;
}

/** The accuracy table: baseline CNN, ProtoPNet before push, after push, after the last layer, after pruning. */
export function accuracyTable(ds: DatasetSession, run: ProtoPNetRun): AccuracyResult {
  const K = ds.test.numClasses;
  const n = ds.labels.length;
  const baseline = argmaxRows(predictLogits(ds.baseline.model, ds.x), K);
  const last = run.checkpoints.filter((c) => c.cycle === ds.plan.cycles);
  const rows: [string, number[]][] = [
    ['baseline CNN', baseline],
    ...last.map((c): [string, number[]] => [`ProtoPNet ${c.name}`, c.predictions]),
  ];
  const rng = ds.rng.fork('accuracy-intervals');
  const hit = (p: number[]) => p.map((v, i) => (v === ds.labels[i] ? 1 : 0));
  /** a's accuracy minus b's, with a paired bootstrap interval over test images. */
  const paired = (a: number[], b: number[], label: string) => {
    const [ha, hb] = [hit(a), hit(b)];
    const diff = (idx: Int32Array) => {
      let s = 0;
      for (let i = 0; i < idx.length; i++) s += ha[idx[i]] - hb[idx[i]];
      return s / idx.length;
    };
    const all = Int32Array.from({ length: n }, (_, i) => i);
    return { difference: diff(all), interval: bootstrapInterval(n, diff, rng.fork(label), { ...bootstrap, unit: 'test images, paired' }) };
  };
  const at = (name: string) => last.find((c) => c.name === name)!.predictions;
  return {
    testImages: n,
    rows: rows.map(([model, preds], r) => {
      const acc = accuracyOf(preds, ds.labels);
      const vsBaseline = r === 0 ? null : paired(preds, baseline, model);
      return { model, accuracy: acc, interval: wilsonInterval(Math.round(acc * n), n, R.level, 'test images'), vsBaseline };
    }),
    recovery: paired(at('after last layer'), at('before push'), 'recovery'),
  };
}

/** After the last push: every prototype's squared distance to its nearest patch of its class, recomputed from scratch. */
export interface PushCheck {
  /** Largest distance over prototypes (0 when every prototype is a training patch of its class). */
  maxDistance: number;
  /** Prototypes whose nearest same-class patch lies farther than the tolerance. */
  offPatch: number;
  /** Prototypes whose recorded source image is not of the prototype's class. */
  wrongClass: number;
  prototypes: number;
}

export function pushCheck(ds: DatasetSession, run: ProtoPNetRun): Promise<PushCheck> {
  return timed(ds, 'push-check', () => {
    const near = nearestClassPatches(run.model, ds.train, { progress: `${ds.plan.dataset} push check` });
    const pushed = run.pushes[run.pushes.length - 1];
    const d = Array.from(near.distance);
    return {
      maxDistance: Math.max(...d),
      offPatch: d.filter((v) => v > R.pushTolerance).length,
      wrongClass: pushed.filter((r) => r.label !== r.cls).length,
      prototypes: d.length,
    };
  });
}

/** Class purity of nearest patches and prototypes. */
export interface PurityResult {
  /** Per prototype: share of its k nearest training patches (one per image) from its class. */
  perPrototype: number[];
  mean: number;
  interval: Interval;
  k: number;
  /** Test images whose most similar prototype (max similarity over the map) is of the image's class. */
  nearestPrototypeHits: number;
  nearestPrototypeInterval: Interval;
  testImages: number;
}

export function purity(ds: DatasetSession, run: ProtoPNetRun, maps: SimilarityMaps): PurityResult {
  const per = run.nearest.neighbours.map((list, j) => list.filter((e) => e.label === run.prototypeClasses[j]).length / list.length);
  let hits = 0;
  for (let i = 0; i < maps.n; i++) {
    const s = maxSimilarities(maps, i);
    let best = 0;
    for (let j = 1; j < s.length; j++) if (s[j] > s[best]) best = j;
    if (run.prototypeClasses[best] === ds.labels[i]) hits++;
  }
  return {
    perPrototype: per,
    mean: per.reduce((a, b) => a + b, 0) / per.length,
    interval: meanInterval(per, ds.rng.fork('purity'), { ...bootstrap, unit: 'prototypes' }),
    k: ds.plan.prune.k,
    nearestPrototypeHits: hits,
    nearestPrototypeInterval: wilsonInterval(hits, maps.n, R.level, 'test images'),
    testImages: maps.n,
  };
}

/** Prototypes that coincide with another one (collapse), after the last push. */
export interface DuplicateResult {
  /** Prototypes with a twin (squared latent distance <= tolerance to another prototype). */
  duplicates: number;
  /** Groups of identical prototypes (indices), only groups of two or more. */
  groups: number[][];
  prototypes: number;
  interval: Interval;
}

export function duplicates(run: ProtoPNetRun): DuplicateResult {
  const p = getPrototypes(run.model);
  const [M, D] = p.shape;
  const v = p.dataSync();
  p.dispose();
  const group = Array.from({ length: M }, (_, j) => j);
  for (let a = 0; a < M; a++) {
    for (let b = a + 1; b < M; b++) {
      let d = 0;
      for (let c = 0; c < D; c++) d += (v[a * D + c] - v[b * D + c]) ** 2;
      if (d <= R.duplicateTolerance && group[b] === b) group[b] = group[a];
    }
  }
  const byRoot = new Map<number, number[]>();
  group.forEach((g, j) => byRoot.set(g, [...(byRoot.get(g) ?? []), j]));
  const groups = [...byRoot.values()].filter((g) => g.length > 1);
  const dup = groups.reduce((a, g) => a + g.length, 0);
  return { duplicates: dup, groups, prototypes: M, interval: wilsonInterval(dup, M, R.level, 'prototypes') };
}

/** Whether prototype boxes land on the class's discriminative parts (worlds with part maps only). */
export interface PartsResult {
  /** Per prototype: share of its high-activation box / receptive-field box on the class's discriminative parts. */
  activationShare: number[];
  rfShare: number[];
  /** Per prototype: share of the whole source image on those parts (what a randomly placed box would get on average). */
  imageShare: number[];
  /** Mean of activationShare - imageShare, with a bootstrap interval over prototypes; the same for the RF boxes. */
  activationLift: { mean: number; interval: Interval };
  rfLift: { mean: number; interval: Interval };
}

/** The pixels of image i that belong to one of `parts` (by name), as a 0/1 mask. */
function partMask(ds: DatasetSession, i: number, parts: string[]): Uint8Array {
  const t = ds.train.truth;
  const hw = ds.train.height * ds.train.width;
  const labels = new Set(parts.map((p) => t.partNames!.indexOf(p) + 1));
  return Uint8Array.from(t.partMaps!.subarray(i * hw, (i + 1) * hw), (v) => (labels.has(v) ? 1 : 0));
}

function boxShare(mask: Uint8Array, W: number, b: Box): number {
  let on = 0;
  for (let y = b[0]; y < b[2]; y++) for (let x = b[1]; x < b[3]; x++) on += mask[y * W + x];
  return on / Math.max(1, (b[2] - b[0]) * (b[3] - b[1]));
}

export function parts(ds: DatasetSession, run: ProtoPNetRun): PartsResult | null {
  const t = ds.train.truth;
  if (!t.partMaps || !t.partNames || !t.discriminativeParts) return null;
  const W = ds.train.width;
  const pushed = run.pushes[run.pushes.length - 1];
  const activationShare: number[] = [];
  const rfShare: number[] = [];
  const imageShare: number[] = [];
  for (const r of pushed) {
    const mask = partMask(ds, r.image, t.discriminativeParts[r.cls]);
    activationShare.push(boxShare(mask, W, r.activationBox));
    rfShare.push(boxShare(mask, W, r.rfBox));
    imageShare.push(mask.reduce((a, b) => a + b, 0) / mask.length);
  }
  const lift = (share: number[], label: string) => {
    const d = share.map((v, j) => v - imageShare[j]);
    return {
      mean: d.reduce((a, b) => a + b, 0) / d.length,
      interval: meanInterval(d, ds.rng.fork(label), { ...bootstrap, unit: 'prototypes' }),
    };
  };
  return {
    activationShare,
    rfShare,
    imageShare,
    activationLift: lift(activationShare, 'parts-activation'),
    rfLift: lift(rfShare, 'parts-rf'),
  };
}

/** The faithfulness check of the upsampled activation maps, on test images. */
export interface CritiqueResult {
  /** Test image indices and the prototype examined on each (the true class's top prototype). */
  images: number[];
  prototypes: number[];
  /** Occlusion maps of that prototype's similarity (drop when a window is masked), one per image. */
  occlusion: Heatmaps;
  /** Per image: the 95th-percentile box of the upsampled map, the RF box of the most similar cell, the occlusion peak's centre. */
  activationBoxes: Box[];
  rfBoxes: Box[];
  peaks: [number, number][];
  /** Upsampled similarity maps [n*H*W]. */
  upsampled: Float32Array;
  /** Images whose occlusion peak falls outside the activation box / the RF box. */
  activationMisses: number;
  rfMisses: number;
  activationMissInterval: Interval;
  rfMissInterval: Interval;
}

const inside = (b: Box, p: [number, number]) => p[0] >= b[0] && p[0] < b[2] && p[1] >= b[1] && p[1] < b[3];

/**
 * The critique ("This does not look like that", Hoffmann et al. 2021; Xu-Darme et al. 2023): for each test image and
 * its class's top prototype, occlude windows of the image and record the drop of that prototype's similarity; is the
 * window whose masking hurts most inside the paper's 95th-percentile box of the upsampled map, or inside the receptive
 * field of the most similar cell?
 */
export function critique(ds: DatasetSession, run: ProtoPNetRun, method: PrototypeActivations): Promise<CritiqueResult> {
  return timed(ds, 'critique', () => {
    const o = ds.plan.occlusion;
    const n = Math.min(o.images, ds.labels.length);
    const images = Array.from({ length: n }, (_, i) => i);
    const x = ds.x.slice(0, n);
    const maps = method.similarityMaps(x);
    const prototypes = images.map((i) => method.topPrototypes(maps, i, ds.labels[i], 1)[0]);
    const occlusion = new Occlusion(similarityModel(run.model)).attribute(x, prototypes, {
      window: o.window,
      stride: o.stride,
      fill: 'mean',
    });
    x.dispose();
    const [H, W] = [ds.test.height, ds.test.width];
    const { rf } = latentModel(run.model);
    const [h, w] = rf.outputSize!;
    const M = maps.prototypes;
    const upsampled = new Float32Array(n * H * W);
    const activationBoxes: Box[] = [];
    const rfBoxes: Box[] = [];
    const peaks: [number, number][] = [];
    images.forEach((i) => {
      const j = prototypes[i];
      const own = Float32Array.from({ length: h * w }, (_, p) => maps.values[(i * h * w + p) * M + j]);
      const up = upsample(own, h, w, H, W);
      upsampled.set(up, i * H * W);
      activationBoxes.push(highActivationBox(up, H, W, 95));
      let best = 0;
      for (let p = 1; p < h * w; p++) if (own[p] > own[best]) best = p;
      rfBoxes.push(cellBox(rf, [Math.floor(best / w), best % w], [H, W]));
      const cells = occlusion.height * occlusion.width;
      const plane = occlusion.values.subarray(i * cells, (i + 1) * cells);
      let top = 0;
      for (let c = 1; c < cells; c++) if (plane[c] > plane[top]) top = c;
      const g = occlusion.geometry;
      const cy = g.y.start + Math.floor(top / occlusion.width) * g.y.jump + g.y.size / 2;
      const cx = g.x.start + (top % occlusion.width) * g.x.jump + g.x.size / 2;
      peaks.push([Math.floor(cy), Math.floor(cx)]);
    });
    const activationMisses = images.filter((i) => !inside(activationBoxes[i], peaks[i])).length;
    const rfMisses = images.filter((i) => !inside(rfBoxes[i], peaks[i])).length;
    return {
      images,
      prototypes,
      occlusion,
      activationBoxes,
      rfBoxes,
      peaks,
      upsampled,
      activationMisses,
      rfMisses,
      activationMissInterval: wilsonInterval(activationMisses, n, R.level, 'test images'),
      rfMissInterval: wilsonInterval(rfMisses, n, R.level, 'test images'),
    };
  });
}

/** The reasoning of the paper's Figure 1 for a few test images: top prototypes, similarity x weight = points. */
export interface ReasoningImage {
  image: number;
  label: number;
  predicted: number;
  /** Logits of every class: the sum of the points of all prototypes for that class. */
  logits: number[];
  /** The predicted class's top prototypes: index, class, max similarity, weight to the predicted class, points. */
  top: { prototype: number; cls: number; similarity: number; weight: number; points: number }[];
}

export function reasoning(ds: DatasetSession, run: ProtoPNetRun, method: PrototypeActivations, maps: SimilarityMaps): ReasoningImage[] {
  const K = ds.test.numClasses;
  const kernel = run.model.getLayer(PROTO_LAYERS.logits).getWeights()[0].dataSync();
  const n = Math.min(ds.plan.reasoningImages, maps.n);
  return Array.from({ length: n }, (_, i) => {
    const s = maxSimilarities(maps, i);
    const logits = Array.from({ length: K }, (_, c) => s.reduce((a, v, j) => a + v * kernel[j * K + c], 0));
    const predicted = logits.indexOf(Math.max(...logits));
    const top = method.topPrototypes(maps, i, predicted, ds.plan.topPrototypes).map((j) => ({
      prototype: j,
      cls: run.prototypeClasses[j],
      similarity: s[j],
      weight: kernel[j * K + predicted],
      points: s[j] * kernel[j * K + predicted],
    }));
    return { image: i, label: ds.labels[i], predicted, logits, top };
  });
}

/** Every test image's similarity maps under the final (unpruned) model, and the method that made them. */
export function testMaps(ds: DatasetSession, run: ProtoPNetRun): { method: PrototypeActivations; maps: SimilarityMaps } {
  const method = new PrototypeActivations(run.model);
  return { method, maps: method.similarityMaps(ds.x) };
}
