import * as tf from '@tensorflow/tfjs';

/**
 * Gradient attribution for any differentiable tfjs model (logits output), one class per image:
 * - saliency: d logit_t / d x (Simonyan et al. 2014);
 * - gradient x input: (x - baseline) * d logit_t / d x;
 * - integrated gradients (Sundararajan et al., ICML 2017): (x - baseline) * mean over alpha = (k - 0.5)/m,
 *   k = 1..m, of the gradient at baseline + alpha (x - baseline) (midpoint Riemann sum).
 * The baseline is each image's own mean colour (what occlusion fills masks with), unless given.
 * All take x [N,H,W,C] and targets (N class indices) and return a [N,H,W,C] tensor the caller disposes.
 */
export type AttributionMethod = 'saliency' | 'gradient-x-input' | 'integrated-gradients';

/** d logit_target / d x for each image (the sum of target logits over the batch, so images do not mix). */
export function inputGradients(model: tf.LayersModel, x: tf.Tensor4D, targets: ArrayLike<number>): tf.Tensor4D {
  const K = model.outputs[0].shape[1] as number;
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(Array.from(targets), 'int32'), K);
    const f = (inp: tf.Tensor) => tf.sum(tf.mul(model.apply(inp, { training: false }) as tf.Tensor2D, onehot));
    return tf.grad(f)(x) as tf.Tensor4D;
  });
}

/** Each image's mean colour, broadcast to its shape: [N,H,W,C]. */
export function meanColourBaseline(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.mean(x, [1, 2], true), tf.onesLike(x)) as tf.Tensor4D);
}

export function attribute(model: tf.LayersModel, x: tf.Tensor4D, targets: ArrayLike<number>, opts: { method: AttributionMethod; steps?: number; baseline?: tf.Tensor4D; batchSize?: number }): tf.Tensor4D {
  const batchSize = opts.batchSize ?? 32;
  const parts: tf.Tensor4D[] = [];
  const t = Array.from(targets);
  for (let i = 0; i < x.shape[0]; i += batchSize) {
    const nb = Math.min(batchSize, x.shape[0] - i);
    parts.push(
      tf.tidy(() => {
        const xb = x.slice([i, 0, 0, 0], [nb, -1, -1, -1]);
        const tb = t.slice(i, i + nb);
        const base = opts.baseline ? opts.baseline.slice([i, 0, 0, 0], [nb, -1, -1, -1]) : meanColourBaseline(xb);
        if (opts.method === 'saliency') return inputGradients(model, xb, tb);
        if (opts.method === 'gradient-x-input') return tf.mul(tf.sub(xb, base), inputGradients(model, xb, tb)) as tf.Tensor4D;
        const m = opts.steps ?? 16;
        let sum = tf.zerosLike(xb) as tf.Tensor4D;
        for (let k = 1; k <= m; k++) {
          const alpha = (k - 0.5) / m;
          const point = tf.add(base, tf.mul(tf.sub(xb, base), alpha)) as tf.Tensor4D;
          const g = inputGradients(model, point, tb);
          const next = tf.add(sum, g) as tf.Tensor4D;
          sum.dispose();
          g.dispose();
          point.dispose();
          sum = next;
        }
        return tf.mul(tf.sub(xb, base), tf.div(sum, m)) as tf.Tensor4D;
      }),
    );
  }
  const out = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
  if (parts.length > 1) tf.dispose(parts);
  return out;
}
