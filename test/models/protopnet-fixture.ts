import * as tf from '@tensorflow/tfjs';
import type { ModelContext } from '../../lib/explain/index';
import { buildModel } from '../../lib/models/index';
import { buildProtoPNet, lastLayerInit, prototypesPerClass } from '../../lib/models/prototype';
import { Rng } from '../../lib/util/rng';
import { randomizeWeights } from './helpers';

/** A tiny ProtoPNet for 8x8x2 images and 3 classes (GAP backbone [4, 6], D = 4, 2 prototypes per class), random weights
 * but for the last layer (+1 / -0.5). */
export function tinyProtoPNet(seed = 4): { model: tf.LayersModel; context: ModelContext; size: number } {
  const input = { inputShape: [8, 8, 2] as [number, number, number], numClasses: 3 };
  const backbone = buildModel({ family: 'gap', widths: [4, 6] }, input, new Rng(3));
  const model = buildProtoPNet(backbone, { channels: 4, prototypeClasses: prototypesPerClass(3, 2) }, input, new Rng(5));
  randomizeWeights(model, seed);
  // Back to the paper's class connections (+1 own, -0.5 others), so that each class has its own top prototypes.
  const kernel = lastLayerInit(prototypesPerClass(3, 2), 3);
  model.getLayer('logits').setWeights([kernel]);
  kernel.dispose();
  return { model, context: {}, size: 8 };
}

/**
 * A hand-weighted ProtoPNet on 4x4x2 images: features = the image (1x1 identity conv), add-on = identity convs, so the
 * latent cell at (y, x) is sigmoid(relu(pixel)) and has a 1x1 receptive field. 2 classes, 1 prototype each.
 */
export function identityProtoPNet(): tf.LayersModel {
  const inp = tf.input({ shape: [4, 4, 2] });
  const eye = tf.tensor4d([1, 0, 0, 1], [1, 1, 2, 2]);
  const zero = tf.zeros([2]);
  const features = tf.layers.conv2d({ name: 'features', filters: 2, kernelSize: 1, weights: [eye, zero] }).apply(inp) as tf.SymbolicTensor;
  const backbone = tf.model({ inputs: inp, outputs: features });
  const model = buildProtoPNet(backbone, { channels: 2, prototypeClasses: [0, 1] }, { inputShape: [4, 4, 2], numClasses: 2 }, new Rng(0));
  for (const name of ['addon', 'latent']) model.getLayer(name).setWeights([eye, zero]);
  tf.dispose([eye, zero]);
  return model;
}
