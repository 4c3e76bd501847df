import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../lib/util/rng';

/** Replaces every weight of `model` with seeded random values (positive when `positive`), BN variances > 0. */
export function randomizeWeights(model: tf.LayersModel, seed: number, positive = false): void {
  const rng = new Rng(seed);
  const values = model.weights.map((w) => {
    const n = w.shape.reduce((a, b) => (a as number) * (b as number), 1) as number;
    const data = new Float32Array(n);
    const isVar = w.name.includes('moving_variance');
    const isMean = w.name.includes('moving_mean');
    for (let i = 0; i < n; i++) {
      if (isVar) data[i] = rng.uniform(0.5, 1.5);
      else if (isMean) data[i] = positive ? 0 : rng.normal(0, 0.2);
      else data[i] = positive ? rng.uniform(0.05, 0.3) : rng.normal(0, 0.5);
    }
    return tf.tensor(data, w.shape as number[]);
  });
  model.setWeights(values);
  values.forEach((v) => v.dispose());
}

/** A seeded random tensor with values in [lo, hi). */
export function randomTensor(shape: number[], seed: number, lo = 0, hi = 1): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.uniform(lo, hi);
  return tf.tensor(data, shape);
}
