/**
 * Training-mode batch normalisation, fused on the torch backend.
 *
 * tfjs-layers trains batch norm through `tf.moments` and `tf.batchNorm`, whose gradients make about fifteen full-size
 * passes over the activations per layer; on the torch backend this function runs one ATen `native_batch_norm`
 * forward and one `native_batch_norm_backward` (plus a reduction for the scale/offset gradients), as PyTorch does.
 * Elsewhere it computes exactly what tfjs-layers computes (moments, then batchNorm).
 */
import * as tf from '@tensorflow/tfjs';

export interface BatchNormTrainingResult {
  /** The normalised, scaled and shifted x, same shape as x. */
  y: tf.Tensor;
  /** Per-channel batch mean [C]. */
  mean: tf.Tensor1D;
  /** Per-channel biased batch variance [C] (mean of squared deviations), as tf.moments returns. */
  variance: tf.Tensor1D;
}

/**
 * y = (x - mean) / sqrt(variance + epsilon) * gamma + beta with mean and variance over every axis but the last
 * (NHWC [N,H,W,C] or [N,C]); gradients flow to x (through the batch statistics too), gamma and beta.
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D | null,
  beta: tf.Tensor1D | null,
  epsilon: number,
): BatchNormTrainingResult {
  const rank = x.rank;
  const fused =
    tf.getBackend() === 'torch' &&
    (rank === 4 || rank === 2) &&
    x.dtype === 'float32' &&
    [gamma, beta].every((t) => t == null || (t.dtype === 'float32' && t.rank === 1 && t.shape[0] === x.shape[rank - 1]));
  if (fused) {
    const inputs: Record<string, tf.Tensor> = { x };
    if (gamma) inputs.scale = gamma;
    if (beta) inputs.offset = beta;
    const [y, mean, variance] = tf
      .engine()
      .runKernel('TorchBatchNormTrain', inputs as never, { varianceEpsilon: epsilon } as never) as tf.Tensor[];
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const axes = Array.from({ length: rank - 1 }, (_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const y = tf.batchNorm(x, mean, variance, beta ?? undefined, gamma ?? undefined, epsilon);
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

interface BatchNormLayerLike {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma?: { read(): tf.Tensor } | null;
  beta?: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
}

let layersPatched = false;

/**
 * Makes tfjs-layers' BatchNormalization layer use batchNormTraining() in training mode while the torch backend runs
 * (channels-last input of rank 4 or 2); everything else (inference, other backends, other axes) runs the layer's own
 * code. The moving mean and variance are updated exactly as the layer does. Idempotent; called by initEngine when
 * it picks torch.
 */
export function fuseLayersBatchNorm(): void {
  if (layersPatched) return;
  layersPatched = true;
  const proto = Object.getPrototypeOf(tf.layers.batchNormalization({})) as { call: unknown };
  const original = proto.call as (this: unknown, inputs: unknown, kwargs: unknown) => tf.Tensor;
  proto.call = function fusedCall(this: BatchNormLayerLike, inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }) {
    const input = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
    const ndim = input ? input.rank : 0;
    const axis = this.axis >= 0 ? this.axis : this.axis + ndim;
    if (
      !kwargs?.training ||
      !input ||
      tf.getBackend() !== 'torch' ||
      axis !== ndim - 1 ||
      (ndim !== 4 && ndim !== 2) ||
      input.dtype !== 'float32'
    ) {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const gamma = this.gamma ? (this.gamma.read() as tf.Tensor1D) : null;
      const beta = this.beta ? (this.beta.read() as tf.Tensor1D) : null;
      const { y, mean, variance } = batchNormTraining(input, gamma, beta, this.epsilon);
      const update = (variable: BatchNormLayerLike['movingMean'], value: tf.Tensor) =>
        tf.tidy(() => {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - this.momentum)));
        });
      update(this.movingMean, mean);
      update(this.movingVariance, variance);
      return y;
    });
  };
}
