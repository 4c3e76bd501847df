import * as tf from '@tensorflow/tfjs';
import { gaussianBlur } from '../data/transforms';
import { batchRanges } from '../util/batches';
import { UserError } from '../util/errors';
import { Progress } from '../util/progress';
import { Heatmaps, PIXEL_GEOMETRY } from './heatmaps';
import { AttributeOptions, checkInputs, ExplanationMethod, MethodInfo, numClasses } from './method';

/**
 * Crisp perturbation masks (Carletti et al., "Understanding Deep Architectures by Visual Summaries", BMVC 2018), an
 * extension of Fong & Vedaldi's meaningful perturbation (ICCV 2017). A mask m in [0,1] (1 keeps a pixel, 0 blurs it)
 * perturbs the image as phi(x; m) = m * x + (1 - m) * blur(x) and minimises
 *   p_c(phi) + l1 * mean|1 - m| + tv * (mean|d_x m|^beta + mean|d_y m|^beta) + bin * mean|m (1 - m)|
 * with Adam, m clamped to [0,1] after every step, in two stages (the reference code's values at 224 px):
 * 1. smooth: m at 1/8 resolution, initialised 0 in a centred disc and 1 outside, upsampled bilinearly and blurred
 *    (sigma 5) inside the loop; 300 steps, lr 0.1, l1 0.5, tv 0.01, beta 3, bin 0;
 * 2. crisp: m at full resolution from the stage-1 mask (upsampled and blurred), no blur; 150 steps, lr 0.1,
 *    l1 0.01, tv 1, beta 3, bin 2 (the binarisation term pushes m to 0 or 1).
 * The regularisers are taken on the optimised mask (low resolution in stage 1). Every image's loss is its own term of
 * one summed loss and Adam is elementwise, so a batch optimises its masks independently (a batch of n = n runs of 1).
 * The map is the saliency 1 - m of the crisp mask (1 = blurred = what the class needs), as the reference saves it.
 */

export interface MaskStage {
  iterations: number;
  lr: number;
  /** Weight of mean|1 - m| (sparsity: most of the image kept). */
  l1: number;
  /** Weight of the total-variation term and its exponent beta. */
  tv: number;
  beta: number;
  /** Weight of mean|m (1 - m)| (binarisation). */
  bin: number;
}

export interface CrispMaskOptions extends AttributeOptions {
  /** Images whose masks are optimised together (default 64). */
  batchSize?: number;
  /** The perturbation blur: sigma and radius in pixels (reference: 11x11, sigma 10 at 224 px). */
  blurSigma?: number;
  blurRadius?: number;
  /** Stage-1 mask resolution = image / maskScale (reference 8). */
  maskScale?: number;
  /** Blur of the upsampled stage-1 mask, sigma in pixels (reference 5 at 224 px). */
  maskBlurSigma?: number;
  /** Radius of the centred disc of 0s of the stage-1 initialisation, as a fraction of the image side. */
  initRadius?: number;
  stage1?: Partial<MaskStage>;
  stage2?: Partial<MaskStage>;
  /** Progress bar label, or false (default 'crisp masks'). */
  progress?: string | false;
}

/** Reference values scaled to 64 px where they are in pixels (see the study's config for the scaled choices). */
export const CRISP_MASK_DEFAULTS = {
  batchSize: 64,
  blurSigma: 3,
  blurRadius: 2,
  maskScale: 8,
  maskBlurSigma: 1.5,
  initRadius: 0.25,
  stage1: { iterations: 300, lr: 0.1, l1: 0.5, tv: 0.01, beta: 3, bin: 0 } as MaskStage,
  stage2: { iterations: 150, lr: 0.1, l1: 0.01, tv: 1, beta: 3, bin: 2 } as MaskStage,
  progress: 'crisp masks' as string | false,
};

type Resolved = typeof CRISP_MASK_DEFAULTS;

/** Per image: the two masks (1 = keep) on the image grid and the target probability under each perturbation. */
export interface MaskResult {
  n: number;
  height: number;
  width: number;
  targets: number[];
  /** Stage-1 mask, upsampled and blurred as it perturbs the image: [n * h * w]. */
  smooth: Float32Array;
  /** Stage-2 (crisp) mask: [n * h * w]. */
  crisp: Float32Array;
  /** Target probability on the image, on its blurred copy, with the smooth mask, with the crisp mask. */
  p0: number[];
  pBlur: number[];
  pSmooth: number[];
  pCrisp: number[];
}

export const CRISP_MASK_INFO: MethodInfo = {
  id: 'crisp-mask',
  label: 'Crisp mask',
  signed: false,
  needs: { gradients: true },
  summary:
    'two-stage perturbation mask (smooth low-resolution, then full-resolution with TV and binarisation) whose blur drops the class ' +
    'probability (Carletti et al. 2018)',
};

export class CrispMask implements ExplanationMethod<CrispMaskOptions> {
  readonly info = CRISP_MASK_INFO;
  constructor(
    readonly model: tf.LayersModel,
    readonly defaults: CrispMaskOptions = {},
  ) {}

  private resolve(options: CrispMaskOptions): Resolved {
    const d = CRISP_MASK_DEFAULTS;
    const o = { ...this.defaults, ...options };
    const r: Resolved = {
      batchSize: o.batchSize ?? d.batchSize,
      blurSigma: o.blurSigma ?? d.blurSigma,
      blurRadius: o.blurRadius ?? d.blurRadius,
      maskScale: o.maskScale ?? d.maskScale,
      maskBlurSigma: o.maskBlurSigma ?? d.maskBlurSigma,
      initRadius: o.initRadius ?? d.initRadius,
      stage1: { ...d.stage1, ...this.defaults.stage1, ...options.stage1 },
      stage2: { ...d.stage2, ...this.defaults.stage2, ...options.stage2 },
      progress: o.progress ?? d.progress,
    };
    if (!Number.isInteger(r.maskScale) || r.maskScale < 1)
      throw new UserError(`crisp-mask: maskScale must be a positive integer, found ${r.maskScale}`);
    for (const [name, st] of [
      ['stage1', r.stage1],
      ['stage2', r.stage2],
    ] as const) {
      if (!Number.isInteger(st.iterations) || st.iterations < 0)
        throw new UserError(`crisp-mask: ${name}.iterations must be a non-negative integer, found ${st.iterations}`);
    }
    return r;
  }

  /** Target probabilities of the model on x [n,H,W,C] (one pass, no gradient). */
  private probabilities(x: tf.Tensor4D, onehot: tf.Tensor2D): number[] {
    return Array.from(
      tf.tidy(() => tf.sum(tf.mul(tf.softmax(this.model.apply(x, { training: false }) as tf.Tensor2D), onehot), 1)).dataSync(),
    );
  }

  /** Optimises both masks of every image; the masks and probabilities as plain numbers. */
  optimise(x: tf.Tensor4D, targets: ArrayLike<number>, options: CrispMaskOptions = {}): MaskResult {
    checkInputs(this.info, this.model, x, targets);
    const o = this.resolve(options);
    const [n, h, w] = x.shape;
    const lh = Math.max(1, Math.round(h / o.maskScale));
    const lw = Math.max(1, Math.round(w / o.maskScale));
    const t = Array.from(targets);
    const smooth = new Float32Array(n * h * w);
    const crisp = new Float32Array(n * h * w);
    const res: MaskResult = { n, height: h, width: w, targets: t, smooth, crisp, p0: [], pBlur: [], pSmooth: [], pCrisp: [] };
    const ranges = batchRanges(n, o.batchSize);
    const bar = o.progress ? new Progress(o.progress, ranges.length * (o.stage1.iterations + o.stage2.iterations)) : null;
    for (const [start, count] of ranges) {
      const xb = x.slice(start, count);
      const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(t.slice(start, start + count), 'int32'), numClasses(this.model))) as tf.Tensor2D;
      const blurred = gaussianBlur(xb, o.blurSigma, o.blurRadius);
      const perturb = (m: tf.Tensor4D) => tf.add(tf.mul(m, xb), tf.mul(tf.sub(1, m), blurred)) as tf.Tensor4D;
      const upsample = (m: tf.Tensor4D) => gaussianBlur(tf.image.resizeBilinear(m, [h, w], false, true), o.maskBlurSigma);
      // Stage 1: low-resolution mask, 0 in a centred disc (perturbed), 1 outside.
      const init = new Float32Array(count * lh * lw);
      for (let b = 0; b < count; b++) {
        for (let i = 0; i < lh; i++) {
          for (let j = 0; j < lw; j++) {
            const dy = (i + 0.5) / lh - 0.5;
            const dx = (j + 0.5) / lw - 0.5;
            init[(b * lh + i) * lw + j] = Math.sqrt(dx * dx + dy * dy) < o.initRadius ? 0 : 1;
          }
        }
      }
      const initMask = tf.tensor4d(init, [count, lh, lw, 1]);
      const m1 = tf.variable(initMask);
      initMask.dispose();
      this.descend(m1, o.stage1, (m) => perturb(upsample(m)), onehot, bar);
      const smoothMask = tf.tidy(() => tf.clipByValue(upsample(m1), 0, 1)) as tf.Tensor4D;
      // Stage 2: full-resolution mask from the stage-1 mask, no blur.
      const m2 = tf.variable(smoothMask);
      this.descend(m2, o.stage2, (m) => perturb(m), onehot, bar);
      smooth.set(smoothMask.dataSync(), start * h * w);
      crisp.set(m2.dataSync(), start * h * w);
      const [p0, pBlur, pSmooth, pCrisp] = tf.tidy(() =>
        [xb, blurred, perturb(smoothMask), perturb(m2)].map((v) => this.probabilities(v as tf.Tensor4D, onehot)),
      );
      res.p0.push(...p0);
      res.pBlur.push(...pBlur);
      res.pSmooth.push(...pSmooth);
      res.pCrisp.push(...pCrisp);
      tf.dispose([xb, onehot, blurred, m1, smoothMask, m2]);
    }
    bar?.finish();
    return res;
  }

  /** Adam on mask variable m for one stage, m clamped to [0,1] after every step. */
  private descend(
    m: tf.Variable,
    st: MaskStage,
    perturbed: (m: tf.Tensor4D) => tf.Tensor4D,
    onehot: tf.Tensor2D,
    bar: Progress | null,
  ): void {
    const opt = tf.train.adam(st.lr);
    for (let it = 0; it < st.iterations; it++) {
      tf.tidy(() => {
        opt.minimize(() => maskLoss(this.model, m as tf.Tensor4D, perturbed(m as tf.Tensor4D), onehot, st), false, [m]);
        m.assign(tf.clipByValue(m, 0, 1));
      });
      bar?.tick();
    }
    opt.dispose();
  }

  attribute(x: tf.Tensor4D, targets: ArrayLike<number>, options: CrispMaskOptions = {}): Heatmaps {
    const r = this.optimise(x, targets, options);
    const values = r.crisp.map((v) => 1 - v);
    return {
      method: this.info.id,
      n: r.n,
      height: r.height,
      width: r.width,
      imageHeight: r.height,
      imageWidth: r.width,
      targets: r.targets,
      geometry: PIXEL_GEOMETRY,
      signed: false,
      values,
    };
  }
}

/**
 * The summed loss over a batch: per image p_target(phi) + l1 mean|1-m| + tv (mean|dx m|^beta + mean|dy m|^beta) +
 * bin mean|m(1-m)|, means over each image's own mask. m [n,h,w,1], phi [n,H,W,C], onehot [n,K].
 */
export function maskLoss(model: tf.LayersModel, m: tf.Tensor4D, phi: tf.Tensor4D, onehot: tf.Tensor2D, st: MaskStage): tf.Scalar {
  return tf.tidy(() => {
    const p = tf.sum(tf.mul(tf.softmax(model.apply(phi, { training: false }) as tf.Tensor2D), onehot));
    const perImage = (v: tf.Tensor) => tf.sum(tf.mean(v, [1, 2, 3]));
    let loss = tf.add(p, tf.mul(st.l1, perImage(tf.abs(tf.sub(1, m)))));
    const [, h, w] = m.shape;
    if (st.tv !== 0) {
      const dy =
        h > 1
          ? perImage(
              tf.pow(tf.abs(tf.sub(m.slice([0, 1, 0, 0], [-1, h - 1, -1, -1]), m.slice([0, 0, 0, 0], [-1, h - 1, -1, -1]))), st.beta),
            )
          : tf.scalar(0);
      const dx =
        w > 1
          ? perImage(
              tf.pow(tf.abs(tf.sub(m.slice([0, 0, 1, 0], [-1, -1, w - 1, -1]), m.slice([0, 0, 0, 0], [-1, -1, w - 1, -1]))), st.beta),
            )
          : tf.scalar(0);
      loss = tf.add(loss, tf.mul(st.tv, tf.add(dx, dy)));
    }
    if (st.bin !== 0) loss = tf.add(loss, tf.mul(st.bin, perImage(tf.abs(tf.mul(m, tf.sub(1, m))))));
    return loss as tf.Scalar;
  });
}

/** The mask statistics of the reference code (stats.py, computeScore.m) for one image. */
export interface MaskStats {
  /** (p0 - p_mask) / p0. */
  drop: number;
  /** (p_mask - p0) / (p0 - p_blur): -1 when the mask drops the probability as far as blurring everything. */
  normalisedScore: number;
  /** Fraction of pixels perturbed (1 - m > 0.5). */
  area: number;
  /** p_mask times the perturbed fraction (lower = sharper). */
  score: number;
}

/** Statistics of mask `which` of image i. */
export function maskStats(r: MaskResult, i: number, which: 'smooth' | 'crisp'): MaskStats {
  const hw = r.height * r.width;
  const m = (which === 'smooth' ? r.smooth : r.crisp).subarray(i * hw, (i + 1) * hw);
  let perturbed = 0;
  for (let p = 0; p < hw; p++) if (1 - m[p] > 0.5) perturbed++;
  const area = perturbed / hw;
  const pm = which === 'smooth' ? r.pSmooth[i] : r.pCrisp[i];
  const p0 = r.p0[i];
  return { drop: (p0 - pm) / p0, normalisedScore: (pm - p0) / (p0 - r.pBlur[i]), area, score: pm * area };
}
