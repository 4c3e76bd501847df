import * as tf from '@tensorflow/tfjs';
import { bootstrapInterval } from '../../analysis/intervals';
import { CAM, Heatmaps, onImageGrid, SlidingWindow } from '../../explain/index';
import { gapHead } from '../../explain/cam';
import { argmaxRows, predictLogits } from '../../train/metrics';
import { Progress } from '../../util/progress';
import type { Interval } from '../types';
import { CountryCropsSession, modelOf, timed } from './session';
import { signatureMask } from '../../data/synthetic/facade-truth';

/** The explained test images: per class the first `imagesPerClass` of it, with their signature-cue masks. */
export interface ExplainedImages {
  /** Test indices, class by class. */
  indices: number[];
  labels: number[];
  /** Signature-cue masks [H*W] per image (null without ground truth). */
  masks: Uint8Array[] | null;
}

/** CAM and sliding-window maps of the gallery crop model on the explained images, for each image's class. */
export interface MapsResult {
  images: ExplainedImages;
  crop: number;
  /** CAM of the crop model applied to whole images (logits; stride and receptive field in the geometry). */
  cam: Heatmaps;
  /** Sliding window: the class probability of the crop model on every window. */
  window: Heatmaps;
  /** The model's predicted class of each explained image (whole image). */
  predicted: number[];
  /** The check mean(CAM_c) + b_c = logit_c over every class: largest |difference| / max(1, |logit|). */
  camMeanError: number;
}

/** The explained images of a session (the first `imagesPerClass` test images of every class). */
export function explainedImages(s: CountryCropsSession): ExplainedImages {
  const indices: number[] = [];
  for (let c = 0; c < s.test.numClasses; c++) {
    indices.push(
      ...s.labels
        .map((l, i) => (l === c ? i : -1))
        .filter((i) => i >= 0)
        .slice(0, s.config.imagesPerClass),
    );
  }
  const bar = s.truth ? new Progress('country-crops: cue masks', indices.length) : null;
  const masks = s.truth
    ? indices.map((i) => {
        bar!.tick();
        return signatureMask(s.truth!, i);
      })
    : null;
  bar?.finish();
  return { indices, labels: indices.map((i) => s.labels[i]), masks };
}

/** The explained images as one tensor (the caller disposes it). */
export function imagesTensor(s: CountryCropsSession, images: ExplainedImages): tf.Tensor4D {
  return tf.gather(s.x, images.indices) as tf.Tensor4D;
}

/** Largest |mean over cells of CAM_c + b_c - logit_c| / max(1, |logit_c|) over images and classes. */
export function camMeanError(model: tf.LayersModel, x: tf.Tensor4D): number {
  const head = gapHead(model);
  if (typeof head === 'string') throw new Error(`country-crops: ${head}`);
  const bias = (head.dense.getWeights()[1] as tf.Tensor).dataSync();
  const maps = new CAM(model).allClasses(x);
  const logits = predictLogits(model, x);
  const { n, height, width, classes: K, values } = maps;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < K; c++) {
      let m = 0;
      for (let p = 0; p < height * width; p++) m += values[(i * height * width + p) * K + c];
      const logit = logits[i * K + c];
      worst = Math.max(worst, Math.abs(m / (height * width) + bias[c] - logit) / Math.max(1, Math.abs(logit)));
    }
  }
  return worst;
}

/** CAM and sliding window of the gallery crop model (config.galleryCrop) on the explained images. */
export function maps(s: CountryCropsSession, images: ExplainedImages = explainedImages(s)): MapsResult {
  return timed(s, 'maps', () => {
    const m = modelOf(s, s.config.galleryCrop);
    const x = imagesTensor(s, images);
    try {
      const cam = new CAM(m.model).attribute(x, images.labels);
      const window = new SlidingWindow(m.cropModel).attribute(x, images.labels, { window: m.crop, stride: s.config.windowStride });
      const predicted = argmaxRows(predictLogits(m.model, x), s.test.numClasses);
      return { images, crop: m.crop, cam, window, predicted, camMeanError: camMeanError(m.model, x) };
    } finally {
      x.dispose();
    }
  });
}

/** Per model: the share of its CAM's positive mass (true class, whole images) that lies on signature cues. */
export interface DetailResult {
  models: { label: string; crop: number; whole: boolean; share: number }[];
  /** Smallest crop model minus the whole-image model, paired by image, with a bootstrap interval over images. */
  gain: { value: number; interval: Interval };
  images: number;
}

/** Share of positive map mass on mask pixels, the map drawn on the pixel grid (pixels no cell covers are left out). */
export function positiveShareOn(h: Heatmaps, i: number, mask: ArrayLike<number>): number {
  const grid = onImageGrid(h, i);
  let on = 0;
  let all = 0;
  for (let p = 0; p < grid.length; p++) {
    const v = grid[p];
    if (!(v > 0)) continue;
    all += v;
    if (mask[p]) on += v;
  }
  return all > 0 ? on / all : 0;
}

/**
 * "Smaller crops concentrate on details": the share of CAM evidence on the signature cues of the image's class, for
 * every model on the same explained images. Null without ground truth.
 */
export function details(s: CountryCropsSession, images: ExplainedImages): DetailResult | null {
  if (!images.masks) return null;
  return timed(s, 'details', () => {
    const x = imagesTensor(s, images);
    const perModel = s.models.map((m) => {
      const h = new CAM(m.model).attribute(x, images.labels);
      return images.indices.map((_, i) => positiveShareOn(h, i, images.masks![i]));
    });
    x.dispose();
    const n = images.indices.length;
    const small = perModel[0];
    const whole = perModel[perModel.length - 1];
    const diff = (idx: ArrayLike<number>) => {
      let d = 0;
      for (let k = 0; k < idx.length; k++) d += small[idx[k]] - whole[idx[k]];
      return d / idx.length;
    };
    return {
      models: s.models.map((m, k) => ({ label: m.label, crop: m.crop, whole: m.whole, share: perModel[k].reduce((a, b) => a + b, 0) / n })),
      gain: {
        value: diff(Int32Array.from({ length: n }, (_, i) => i)),
        interval: bootstrapInterval(n, diff, s.rng.fork('details-bootstrap'), { resamples: s.config.resamples, unit: 'explained images' }),
      },
      images: n,
    };
  });
}
