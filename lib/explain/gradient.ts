import * as tf from '@tensorflow/tfjs';
import { mapBatches } from '../util/batches';
import { Heatmaps, PIXEL_GEOMETRY } from './heatmaps';
import { AttributeOptions, checkInputs, ExplanationMethod, MethodInfo, numClasses } from './method';

/**
 * Gradient attributions of any differentiable tfjs model with a logits output, per pixel (channels reduced):
 * - Saliency (Simonyan et al. 2014): max over channels of |d logit_t / d x|;
 * - GradientXInput: sum over channels of (x - baseline) * d logit_t / d x;
 * - IntegratedGradients (Sundararajan et al., ICML 2017): sum over channels of (x - baseline) times the mean over
 *   alpha = (k - 0.5)/m, k = 1..m, of the gradient at baseline + alpha (x - baseline) (midpoint Riemann sum).
 * The baseline is each image's own mean colour (what occlusion fills masks with) unless `baseline` says otherwise.
 */

/** d logit_target / d x for each image [N,H,W,C] (the sum of target logits over the batch: images do not mix). */
export function inputGradients(model: tf.LayersModel, x: tf.Tensor4D, targets: ArrayLike<number>): tf.Tensor4D {
  const K = numClasses(model);
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(Array.from(targets), 'int32'), K);
    const f = (inp: tf.Tensor) => tf.sum(tf.mul(model.apply(inp, { training: false }) as tf.Tensor2D, onehot));
    return tf.grad(f)(x) as tf.Tensor4D;
  });
}

/** A reference image: 'mean-colour' (each image's mean colour), 'black' (zeros) or a constant grey level. */
export type Baseline = 'mean-colour' | 'black' | number;

/** The baseline of `baseline` kind for images x [N,H,W,C]. */
export function baselineOf(x: tf.Tensor4D, baseline: Baseline): tf.Tensor4D {
  return tf.tidy(() => {
    if (baseline === 'mean-colour') return tf.mul(tf.mean(x, [1, 2], true), tf.onesLike(x)) as tf.Tensor4D;
    if (baseline === 'black') return tf.zerosLike(x);
    return tf.fill(x.shape, baseline) as tf.Tensor4D;
  });
}

/** The ids of the gradient methods (e.g. a study's choice of a model's own attribution). */
export type GradientMethodId = 'saliency' | 'gradient-x-input' | 'integrated-gradients';

export interface GradientOptions extends AttributeOptions {
  /** Default 32 images per pass. */
  batchSize?: number;
  /** Reference image (gradient x input, integrated gradients). Default 'mean-colour'. */
  baseline?: Baseline;
  /** Integrated gradients: Riemann steps m. Default 16. */
  steps?: number;
}

export const SALIENCY_INFO: MethodInfo = {
  id: 'saliency',
  label: 'Saliency',
  signed: false,
  needs: { gradients: true },
  summary: 'max over channels of |d logit / d pixel| (Simonyan, Vedaldi & Zisserman 2014)',
};

export const GRADIENT_X_INPUT_INFO: MethodInfo = {
  id: 'gradient-x-input',
  label: 'Gradient x input',
  signed: true,
  needs: { gradients: true },
  summary: '(x - baseline) * d logit / d x, summed over channels (Shrikumar et al. 2016)',
};

export const INTEGRATED_GRADIENTS_INFO: MethodInfo = {
  id: 'integrated-gradients',
  label: 'Integrated gradients',
  signed: true,
  needs: { gradients: true },
  summary: 'path integral of the gradient from a baseline to the image, midpoint rule (Sundararajan et al. 2017)',
};

/** Template of the gradient methods: each overrides `pixelAttribution` ([N,H,W,C] per pixel and channel) and the reduction. */
abstract class GradientMethod implements ExplanationMethod<GradientOptions> {
  abstract readonly info: MethodInfo;
  constructor(
    readonly model: tf.LayersModel,
    readonly defaults: GradientOptions = {},
  ) {}

  /** Attribution per pixel and channel for one batch (inside tf.tidy). */
  protected abstract pixelAttribution(x: tf.Tensor4D, targets: number[], o: Required<GradientOptions>): tf.Tensor4D;

  /** Channels -> one value per pixel: the signed sum (saliency overrides: max of magnitudes). */
  protected reduceChannels(a: tf.Tensor4D): tf.Tensor3D {
    return tf.sum(a, 3);
  }

  attribute(x: tf.Tensor4D, targets: ArrayLike<number>, options: GradientOptions = {}): Heatmaps {
    checkInputs(this.info, this.model, x, targets);
    const o: Required<GradientOptions> = { batchSize: 32, baseline: 'mean-colour', steps: 16, ...this.defaults, ...options };
    const t = Array.from(targets);
    const [n, h, w] = x.shape;
    const values = mapBatches(x, o.batchSize, (xb, start, count) =>
      this.reduceChannels(this.pixelAttribution(xb as tf.Tensor4D, t.slice(start, start + count), o)),
    );
    return {
      method: this.info.id,
      n,
      height: h,
      width: w,
      imageHeight: h,
      imageWidth: w,
      targets: t,
      geometry: PIXEL_GEOMETRY,
      signed: this.info.signed,
      values,
    };
  }
}

export class Saliency extends GradientMethod {
  readonly info = SALIENCY_INFO;
  protected pixelAttribution(x: tf.Tensor4D, targets: number[]): tf.Tensor4D {
    return inputGradients(this.model, x, targets);
  }
  protected override reduceChannels(a: tf.Tensor4D): tf.Tensor3D {
    return tf.max(tf.abs(a), 3);
  }
}

export class GradientXInput extends GradientMethod {
  readonly info = GRADIENT_X_INPUT_INFO;
  protected pixelAttribution(x: tf.Tensor4D, targets: number[], o: Required<GradientOptions>): tf.Tensor4D {
    return tf.mul(tf.sub(x, baselineOf(x, o.baseline)), inputGradients(this.model, x, targets));
  }
}

export class IntegratedGradients extends GradientMethod {
  readonly info = INTEGRATED_GRADIENTS_INFO;
  protected pixelAttribution(x: tf.Tensor4D, targets: number[], o: Required<GradientOptions>): tf.Tensor4D {
    const base = baselineOf(x, o.baseline);
    const diff = tf.sub(x, base);
    let sum = tf.zerosLike(x) as tf.Tensor4D;
    for (let k = 1; k <= o.steps; k++) {
      // Dispose each step's tensors at once: with many steps the tidy scope would otherwise hold them all.
      const next = tf.tidy(
        () =>
          tf.add(sum, inputGradients(this.model, tf.add(base, tf.mul(diff, (k - 0.5) / o.steps)) as tf.Tensor4D, targets)) as tf.Tensor4D,
      );
      sum.dispose();
      sum = next;
    }
    return tf.mul(diff, tf.div(sum, o.steps));
  }
}

/**
 * Integrated gradients written literally, one image and one step at a time, with the sum in float64 (the
 * definition the batched `IntegratedGradients` is tested against). Returns [H*W] per image.
 */
export function integratedGradientsLiteral(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  targets: ArrayLike<number>,
  steps: number,
  baseline: Baseline = 'mean-colour',
): Float32Array[] {
  const [n, h, w, c] = x.shape;
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const xi = x.slice(i, 1);
    const bi = baselineOf(xi, baseline);
    const xv = xi.dataSync();
    const bv = bi.dataSync();
    const sum = new Float64Array(h * w * c);
    for (let k = 1; k <= steps; k++) {
      const point = tf.tidy(() => tf.add(bi, tf.mul(tf.sub(xi, bi), (k - 0.5) / steps)) as tf.Tensor4D);
      const g = inputGradients(model, point, [targets[i]]);
      const gv = g.dataSync();
      for (let p = 0; p < sum.length; p++) sum[p] += gv[p];
      tf.dispose([point, g]);
    }
    const map = new Float32Array(h * w);
    for (let p = 0; p < h * w; p++) {
      let s = 0;
      for (let ch = 0; ch < c; ch++) s += (xv[p * c + ch] - bv[p * c + ch]) * (sum[p * c + ch] / steps);
      map[p] = s;
    }
    tf.dispose([xi, bi]);
    out.push(map);
  }
  return out;
}
