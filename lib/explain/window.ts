import * as tf from '@tensorflow/tfjs';
import { occlude, OcclusionFill, Patch } from '../data/transforms';
import { predictLogits } from '../train/metrics';
import { batchRanges } from '../util/batches';
import { UserError } from '../util/errors';
import { Heatmaps, windowGeometry } from './heatmaps';
import { AttributeOptions, checkInputs, ExplanationMethod, MethodInfo } from './method';

/**
 * Perturbation methods over a grid of square windows (`window` px every `stride` px, top-left first, as many as fit):
 * the model is run once per window on a variant of the image, and the map cell of a window holds a score of that run.
 * A template: Occlusion masks the window in the whole image (Zeiler & Fergus, ECCV 2014) and scores the drop of the
 * target logit; SlidingWindow runs a crop model on the window alone and scores the target's probability.
 */

export interface WindowOptions extends AttributeOptions {
  /** Window side in pixels (default: per method). */
  window?: number;
  /** Pixels between neighbouring windows (default: per method). */
  stride?: number;
  /** Windows per forward pass (default 128). */
  batchSize?: number;
}

/** The top-left corners of the windows along one axis of n pixels. */
export function windowStarts(n: number, window: number, stride: number): number[] {
  if (!Number.isInteger(window) || window < 1 || window > n)
    throw new UserError(`window must be an integer in [1, ${n}] (the image side), found ${window}`);
  if (!Number.isInteger(stride) || stride < 1) throw new UserError(`stride must be a positive integer, found ${stride}`);
  const out: number[] = [];
  for (let s = 0; s + window <= n; s += stride) out.push(s);
  return out;
}

export const OCCLUSION_INFO: MethodInfo = {
  id: 'occlusion',
  label: 'Occlusion',
  signed: true,
  needs: {},
  summary: 'drop of the class logit when a window of the image is masked with its mean colour (Zeiler & Fergus 2014)',
};

export const SLIDING_WINDOW_INFO: MethodInfo = {
  id: 'sliding-window',
  label: 'Sliding window',
  signed: false,
  needs: {},
  summary: 'the class probability of the crop model on every window of the image, at a stride (the country-crops post)',
};

abstract class WindowMethod<O extends WindowOptions> implements ExplanationMethod<O> {
  abstract readonly info: MethodInfo;
  constructor(
    readonly model: tf.LayersModel,
    readonly defaults: O = {} as O,
  ) {}

  /** Window and stride when the options do not give them. */
  protected abstract defaultWindow(h: number, w: number): { window: number; stride: number };
  /** Whether the images must have the model's input size. */
  protected abstract readonly fixedSize: boolean;
  /** The model's inputs for `windows` of one image [1,H,W,C] (inside tf.tidy): [windows.length, ...]. */
  protected abstract variants(image: tf.Tensor4D, windows: Patch[], o: O): tf.Tensor4D;
  /** Map values from the logits [m,K] of the variants, given the clean image's logits [K] (null if unused). */
  protected abstract score(logits: tf.Tensor2D, target: number, clean: Float32Array | null, o: O): Float32Array;
  /** Whether `score` needs the clean image's logits. */
  protected needsClean = false;

  attribute(x: tf.Tensor4D, targets: ArrayLike<number>, options: O = {} as O): Heatmaps {
    checkInputs(this.info, this.model, x, targets, this.fixedSize);
    const [n, H, W] = x.shape;
    const o = { batchSize: 128, ...this.defaultWindow(H, W), ...this.defaults, ...options };
    const ys = windowStarts(H, o.window, o.stride);
    const xs = windowStarts(W, o.window, o.stride);
    const windows: Patch[] = ys.flatMap((y) => xs.map((xx) => ({ x: xx, y, width: o.window, height: o.window })));
    const per = windows.length;
    const values = new Float32Array(n * per);
    const t = Array.from(targets);
    for (let i = 0; i < n; i++) {
      const image = x.slice(i, 1);
      const clean = this.needsClean ? predictLogits(this.model, image) : null;
      for (const [start, count] of batchRanges(per, o.batchSize)) {
        const s = tf.tidy(() => {
          const logits = this.model.predict(this.variants(image, windows.slice(start, start + count), o)) as tf.Tensor2D;
          return this.score(logits, t[i], clean, o);
        });
        values.set(s, i * per + start);
      }
      image.dispose();
    }
    return {
      method: this.info.id,
      n,
      height: ys.length,
      width: xs.length,
      imageHeight: H,
      imageWidth: W,
      targets: t,
      geometry: windowGeometry(o.window, o.stride),
      signed: this.info.signed,
      values,
    };
  }
}

/** The target column of logits [m,K] as numbers. */
function column(logits: tf.Tensor2D, target: number): Float32Array {
  const K = logits.shape[1];
  const v = logits.dataSync();
  return Float32Array.from({ length: logits.shape[0] }, (_, r) => v[r * K + target]);
}

export interface OcclusionOptions extends WindowOptions {
  /** What fills the window: 'mean' (the image's mean colour, default), 'zero', 'blur' (Gaussian-blurred image). */
  fill?: Extract<OcclusionFill, 'mean' | 'zero' | 'blur'>;
}

/**
 * Occlusion: the drop of the target logit when the window is masked (clean - occluded; > 0 = the window held
 * evidence for the class). Default window: a quarter of the shorter image side, stride half the window.
 */
export class Occlusion extends WindowMethod<OcclusionOptions> {
  readonly info = OCCLUSION_INFO;
  protected readonly fixedSize = true;
  protected override needsClean = true;

  protected defaultWindow(h: number, w: number): { window: number; stride: number } {
    const window = Math.max(1, Math.floor(Math.min(h, w) / 4));
    return { window, stride: Math.max(1, Math.floor(window / 2)) };
  }

  protected variants(image: tf.Tensor4D, windows: Patch[], o: OcclusionOptions): tf.Tensor4D {
    return occlude(
      tf.tile(image, [windows.length, 1, 1, 1]) as tf.Tensor4D,
      windows.map((p) => [p]),
      o.fill ?? 'mean',
    );
  }

  protected score(logits: tf.Tensor2D, target: number, clean: Float32Array | null): Float32Array {
    const occluded = column(logits, target);
    return occluded.map((v) => clean![target] - v);
  }
}

export interface SlidingWindowOptions extends WindowOptions {
  /** 'probability' (softmax of the target, default) or 'logit'. */
  output?: 'probability' | 'logit';
}

/**
 * Sliding window: a crop model (trained on crops) run on every window of a larger image; the cell holds the target's
 * probability for that crop. Windows are resized to the model's input when their side differs (bilinear).
 * Default window: the model's input side (required for a model without a fixed input size), stride half of it.
 */
/**
 * The square windows of a one-image batch [1,H,W,C] stacked as [windows, side, side, C], copied row by row from the
 * image's values: one pass, where a slice per window and their concat cost ~10 ms for 225 windows of a 56 px image.
 */
export function windowStack(image: tf.Tensor4D, windows: readonly Patch[], side: number): tf.Tensor4D {
  const [, h, w, c] = image.shape;
  const src = image.dataSync();
  const out = new Float32Array(windows.length * side * side * c);
  windows.forEach((p, k) => {
    if (p.y < 0 || p.x < 0 || p.y + side > h || p.x + side > w) {
      throw new Error(`windowStack: window ${k} at (${p.y}, ${p.x}) of side ${side} leaves the ${h}x${w} image`);
    }
    for (let r = 0; r < side; r++) {
      const from = ((p.y + r) * w + p.x) * c;
      out.set(src.subarray(from, from + side * c), (k * side + r) * side * c);
    }
  });
  return tf.tensor4d(out, [windows.length, side, side, c], image.dtype as 'float32');
}

export class SlidingWindow extends WindowMethod<SlidingWindowOptions> {
  readonly info = SLIDING_WINDOW_INFO;
  protected readonly fixedSize = false;

  private inputSide(): [number | null, number | null] {
    const s = this.model.inputs[0].shape;
    return [s[1] as number | null, s[2] as number | null];
  }

  protected defaultWindow(h: number, w: number): { window: number; stride: number } {
    const [ih, iw] = this.inputSide();
    if (ih == null || iw == null) throw new UserError(`${this.info.id}: the model has no fixed input size; pass a window`);
    if (ih !== iw) throw new UserError(`${this.info.id}: windows are square, the model takes ${ih}x${iw} inputs`);
    if (ih > Math.min(h, w)) throw new UserError(`${this.info.id}: the model's ${ih}x${iw} input is larger than the ${h}x${w} image`);
    return { window: ih, stride: Math.max(1, Math.floor(ih / 2)) };
  }

  protected variants(image: tf.Tensor4D, windows: Patch[]): tf.Tensor4D {
    const [ih, iw] = this.inputSide();
    const side = windows[0].width;
    if ((ih == null || ih === side) && (iw == null || iw === side)) return windowStack(image, windows, side);
    const [, h, w] = image.shape;
    // Normalised [y1, x1, y2, x2] with corners on pixel centres, so that a same-size crop would be exact.
    const boxes = windows.map((p) => [p.y / (h - 1), p.x / (w - 1), (p.y + side - 1) / (h - 1), (p.x + side - 1) / (w - 1)]);
    return tf.image.cropAndResize(image, boxes, new Array(windows.length).fill(0), [ih!, iw!], 'bilinear');
  }

  protected score(logits: tf.Tensor2D, target: number, _clean: Float32Array | null, o: SlidingWindowOptions): Float32Array {
    return column((o.output ?? 'probability') === 'probability' ? tf.softmax(logits) : logits, target);
  }
}

/**
 * Occlusion written literally: for each window, copy the image, paint the window with the image's mean colour in a
 * plain loop, run the model on that one image and subtract its target logit from the clean one. [n][cells] maps.
 */
export function occlusionLiteral(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  targets: ArrayLike<number>,
  window: number,
  stride: number,
): Float32Array[] {
  const [n, h, w, c] = x.shape;
  const data = x.dataSync();
  const run = (img: Float32Array, target: number): number => {
    const l = tf.tidy(() => model.predict(tf.tensor4d(img, [1, h, w, c])) as tf.Tensor);
    const v = l.dataSync()[target];
    l.dispose();
    return v;
  };
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const img = Float32Array.from(data.subarray(i * h * w * c, (i + 1) * h * w * c));
    const mean = new Array(c).fill(0);
    for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) mean[k] += img[p * c + k] / (h * w);
    const clean = run(img, targets[i]);
    const cells: number[] = [];
    for (let y0 = 0; y0 + window <= h; y0 += stride) {
      for (let x0 = 0; x0 + window <= w; x0 += stride) {
        const v = img.slice();
        for (let y = y0; y < y0 + window; y++)
          for (let xx = x0; xx < x0 + window; xx++) for (let k = 0; k < c; k++) v[(y * w + xx) * c + k] = mean[k];
        cells.push(clean - run(v, targets[i]));
      }
    }
    out.push(Float32Array.from(cells));
  }
  return out;
}
