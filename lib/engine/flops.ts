/**
 * Floating-point operations of a tfjs-layers model per image, counted from its layers' shapes and configs.
 *
 * Conventions (the usual ones for CNN FLOP counts, made explicit):
 * - a multiply-add is 2 FLOPs: a conv is 2 * kh * kw * (cin / groups) * cout per output pixel, a dense layer
 *   2 * in * out; a bias add, an activation and a residual add are 1 per output element; batch norm (inference form,
 *   scale and shift) 2 per element; max/average pooling kh * kw per output element; global average pooling 1 per
 *   input element; layers that only move data (crop, flatten, reshape, dropout, input) 0.
 * - training = forward + backward. Backward of a conv or dense layer is two products of the forward's size (the
 *   weight gradient, and the input gradient unless the layer reads the model's input, which needs none); backward of
 *   every other layer is one pass of the forward's size. The optimiser's update (a few FLOPs per weight) is left out.
 * A layer class the counter does not know is an error, not a guess.
 */
import * as tf from '@tensorflow/tfjs';

export interface LayerFlops {
  name: string;
  className: string;
  /** Forward FLOPs per image. */
  forward: number;
  /** Backward FLOPs per image (gradients of weights and of the layer's input). */
  backward: number;
}

export interface ModelFlops {
  /** Forward FLOPs per image (inference). */
  forward: number;
  /** Forward + backward FLOPs per image (one training step, per image). */
  train: number;
  layers: LayerFlops[];
}

type Shape = (number | null)[];

/** Elements of a shape without its batch axis. */
const perImage = (shape: Shape): number => shape.slice(1).reduce((p: number, d) => p * (d ?? 1), 1);

/** Activations a layer config may name, with their FLOPs per element (0 for linear). */
function activationFlops(config: tf.serialization.ConfigDict): number {
  const a = config.activation;
  if (a === undefined || a === null || a === 'linear') return 0;
  if (a === 'softmax') return 3; // exp, sum, divide
  return 1;
}

interface Counted {
  forward: number;
  /** FLOPs of one product pass of the layer's size (conv/dense), 0 for layers without weights products. */
  product: number;
}

/** FLOPs of one layer from its class, config and input/output shapes; throws for a class it does not know. */
function layerFlops(layer: tf.layers.Layer): Counted {
  const className = layer.getClassName();
  const config = layer.getConfig();
  const node = layer.inboundNodes[0];
  if (!node) throw new Error(`countFlops: layer ${layer.name} is not connected; count the FLOPs of a built model`);
  const inputs = (Array.isArray(node.inputShapes[0]) ? node.inputShapes : [node.inputShapes]) as Shape[];
  const out = (Array.isArray(node.outputShapes[0]) ? node.outputShapes[0] : node.outputShapes) as Shape;
  const outElems = perImage(out);
  switch (className) {
    case 'Conv2D':
    case 'DepthwiseConv2D': {
      const [kh, kw] = config.kernelSize as number[];
      const cin = inputs[0][3] as number;
      const perOut = className === 'Conv2D' ? kh * kw * cin : kh * kw; // depthwise: one input channel per output
      const product = 2 * perOut * outElems;
      const extra = (config.useBias ? outElems : 0) + activationFlops(config) * outElems;
      return { forward: product + extra, product };
    }
    case 'Dense': {
      const product = 2 * (inputs[0][inputs[0].length - 1] as number) * outElems;
      return { forward: product + (config.useBias ? outElems : 0) + activationFlops(config) * outElems, product };
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const [ph, pw] = config.poolSize as number[];
      return { forward: ph * pw * outElems, product: 0 };
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      return { forward: perImage(inputs[0]), product: 0 };
    case 'BatchNormalization':
      return { forward: 2 * outElems, product: 0 };
    case 'ReLU':
    case 'Activation':
    case 'Softmax':
      return { forward: (className === 'Activation' ? activationFlops(config) : className === 'Softmax' ? 3 : 1) * outElems, product: 0 };
    case 'Add':
      return { forward: (inputs.length - 1) * outElems, product: 0 };
    case 'BlurPool': {
      // Reflect pad (data movement), then a depthwise k x k filter at the layer's stride.
      const k = blurSize(config.filter as string);
      return { forward: 2 * k * k * outElems, product: 0 };
    }
    case 'InputLayer':
    case 'Cropping2D':
    case 'ZeroPadding2D':
    case 'Flatten':
    case 'Reshape':
    case 'Dropout':
      return { forward: 0, product: 0 };
    default:
      throw new Error(
        `countFlops: layer ${layer.name} has class ${className}, which the FLOP counter does not know; ` +
          'add its count to lib/engine/flops.ts (expected Conv2D, DepthwiseConv2D, Dense, pooling, BatchNormalization, ' +
          'activations, Add, BlurPool or a data-movement layer)',
      );
  }
}

/** Side of a BlurPool filter from its name ('tri-3' -> 3). */
function blurSize(filter: string): number {
  const k = Number(/-(\d+)$/.exec(filter ?? '')?.[1]);
  if (!Number.isInteger(k) || k < 1) throw new Error(`countFlops: BlurPool filter "${filter}" has no size suffix (expected e.g. tri-3)`);
  return k;
}

/** FLOPs per image of a built tfjs-layers model: forward (inference) and training, and per layer (see the module comment). */
export function countFlops(model: tf.LayersModel): ModelFlops {
  const modelInputs = new Set(model.inputs.map((t) => t.name));
  const layers: LayerFlops[] = [];
  for (const layer of model.layers) {
    const { forward, product } = layerFlops(layer);
    // A conv/dense layer reading the model's input needs no input gradient: its backward is the weight gradient only.
    const readsModelInput = layer.inboundNodes.some((n) => n.inputTensors.some((t) => modelInputs.has(t.name)));
    const backward = product > 0 ? product * (readsModelInput ? 1 : 2) + (forward - product) : forward;
    layers.push({ name: layer.name, className: layer.getClassName(), forward, backward });
  }
  const forward = layers.reduce((s, l) => s + l.forward, 0);
  return { forward, train: forward + layers.reduce((s, l) => s + l.backward, 0), layers };
}
