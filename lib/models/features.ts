import * as tf from '@tensorflow/tfjs';

/**
 * Feature extraction at named layers of any functional model (shift maps, clustering, prototypes). Every builder
 * names the last spatial map "features" and the class scores "logits"; `layerNames(model)` lists the rest.
 */
export function layerNames(model: tf.LayersModel): string[] {
  return model.layers.map((l) => l.name);
}

/** A model sharing `model`'s weights whose outputs are the named layers' outputs, in order. */
export function featureModel(model: tf.LayersModel, names: readonly string[]): tf.LayersModel {
  const outputs = names.map((n) => {
    let layer: tf.layers.Layer;
    try {
      layer = model.getLayer(n);
    } catch {
      throw new Error(`featureModel: no layer "${n}" in ${model.name}; layers: ${layerNames(model).join(', ')}`);
    }
    return layer.output as tf.SymbolicTensor;
  });
  return tf.model({ inputs: model.inputs, outputs });
}

/**
 * Runs `x` [N,H,W,C] through the model in batches (inference mode) and returns each named layer's output for all
 * N images, keyed by name. The caller owns (disposes) the returned tensors.
 */
export function extractFeatures(
  model: tf.LayersModel,
  names: readonly string[],
  x: tf.Tensor4D,
  batchSize = 64,
): Record<string, tf.Tensor> {
  const fm = featureModel(model, names);
  const parts: tf.Tensor[][] = names.map(() => []);
  for (let i = 0; i < x.shape[0]; i += batchSize) {
    const outs = tf.tidy(() => {
      const xb = x.slice([i, 0, 0, 0], [Math.min(batchSize, x.shape[0] - i), -1, -1, -1]);
      const o = fm.predict(xb);
      return Array.isArray(o) ? o : [o];
    });
    outs.forEach((t, k) => parts[k].push(t));
  }
  const result: Record<string, tf.Tensor> = {};
  names.forEach((n, k) => {
    result[n] = parts[k].length === 1 ? parts[k][0] : tf.concat(parts[k], 0);
    if (parts[k].length > 1) parts[k].forEach((t) => t.dispose());
  });
  return result;
}
