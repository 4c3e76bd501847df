/**
 * Training-mode batch normalisation, fused on the torch backend.
 *
 * tfjs-layers trains batch norm through `tf.moments` and `tf.batchNorm`, whose gradients make about fifteen full-size
 * passes over the activations per layer; on the torch backend this module runs the addon's batch norm kernel, two
 * passes forward and two backward (ATen's `native_batch_norm` reads x three times forward), with a following relu
 * in the same passes when the relu is the batch norm's only reader. Elsewhere it computes exactly what tfjs-layers
 * computes (moments, then batchNorm).
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

/** Whether the torch backend's fused kernels take these tensors: float32 NHWC or [N,C], per-channel parameters. */
function fusable(x: tf.Tensor, gamma: tf.Tensor1D | null, beta: tf.Tensor1D | null): boolean {
  const C = x.shape[x.rank - 1];
  return (
    tf.getBackend() === 'torch' &&
    (x.rank === 4 || x.rank === 2) &&
    x.dtype === 'float32' &&
    [gamma, beta].every((t) => t == null || (t.dtype === 'float32' && t.rank === 1 && t.shape[0] === C))
  );
}

/** The torch backend's training batch norm [+ relu]: one native kernel, two passes over x each way. */
function torchBatchNorm(x: tf.Tensor, gamma: tf.Tensor1D | null, beta: tf.Tensor1D | null, epsilon: number, relu: boolean) {
  const C = x.shape[x.rank - 1];
  // Always both parameters (tfjs saves gradient inputs by name: a missing one cannot be saved).
  const scale = gamma ?? tf.ones([C]);
  const offset = beta ?? tf.zeros([C]);
  const [y, mean, variance, invstd] = tf
    .engine()
    .runKernel('TorchBatchNormTrain', { x, scale, offset } as never, { varianceEpsilon: epsilon, relu } as never) as tf.Tensor[];
  tf.dispose([invstd, ...(gamma ? [] : [scale]), ...(beta ? [] : [offset])]);
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
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
  if (fusable(x, gamma, beta)) return torchBatchNorm(x, gamma, beta, epsilon, false);
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const y = tf.batchNorm(x, mean, variance, beta ?? undefined, gamma ?? undefined, epsilon);
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/**
 * relu(batchNormTraining(x, ...).y), with the same statistics. On the torch backend the relu is part of the batch
 * norm's kernel (its mask recomputed from x in the gradient), which saves a pass each way and the pre-activation.
 */
export function batchNormReluTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D | null,
  beta: tf.Tensor1D | null,
  epsilon: number,
): BatchNormTrainingResult {
  if (fusable(x, gamma, beta)) return torchBatchNorm(x, gamma, beta, epsilon, true);
  const { y, mean, variance } = batchNormTraining(x, gamma, beta, epsilon);
  return { y: tf.relu(y), mean, variance };
}

interface LayerLike {
  getClassName(): string;
  inboundNodes: { outputTensors: unknown[] }[];
  outboundNodes: { outboundLayer: LayerLike }[];
}

interface BatchNormLayerLike extends LayerLike {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma?: { read(): tf.Tensor } | null;
  beta?: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
}

/** The models whose graphs are running a training pass, innermost last (see fuseLayersBatchNorm). */
interface ContainerLike {
  layers: unknown[];
  outputs: unknown[];
}
const running: ContainerLike[] = [];

function whileRunning<T>(container: ContainerLike, f: () => T): T {
  running.push(container);
  try {
    return f();
  } finally {
    running.pop();
  }
}

/** Whether a layer is a plain relu: a ReLU layer without a cap, or Activation('relu'). */
export function isPlainReluLayer(layer: { getClassName(): string }): boolean {
  const l = layer as { getClassName(): string; maxValue?: number | null; activation?: { getClassName(): string } };
  if (l.getClassName() === 'ReLU') return l.maxValue == null;
  return l.getClassName() === 'Activation' && l.activation?.getClassName() === 'relu';
}

/**
 * Whether this batch norm's output may be replaced by its relu in the graph running now: the layer is used once, its
 * only reader is a plain relu of the same running graph (so that relu runs in this pass), and its own output is not one
 * of that graph's outputs. Then nothing reads the value before the relu.
 */
function reluFollows(bn: LayerLike): boolean {
  const graph = running[running.length - 1];
  if (!graph || bn.inboundNodes.length !== 1 || bn.outboundNodes.length !== 1) return false;
  const reader = bn.outboundNodes[0].outboundLayer;
  const own = bn.inboundNodes[0].outputTensors;
  return (
    isPlainReluLayer(reader) && graph.layers.includes(bn) && graph.layers.includes(reader) && !own.some((t) => graph.outputs.includes(t))
  );
}

/** Data already passed through a relu by a fused batch norm (a relu of it is the same data). */
const reluApplied = new WeakSet<object>();

let layersPatched = false;

/**
 * Makes tfjs-layers' BatchNormalization layer use batchNormTraining() in training mode while the torch backend runs
 * (channels-last input of rank 4 or 2); everything else (inference, other backends, other axes) runs the layer's own
 * code. The moving mean and variance are updated exactly as the layer does. When a plain relu is the layer's only
 * reader in the running graph (tracked through model.apply and fit/trainOnBatch's train function), the layer returns
 * relu(bn(x)) from batchNormReluTraining and that relu layer passes the data on. This is safe because tfjs-layers'
 * executor runs only what the graph's outputs need: a batch norm that runs, is not an output and has one reader, has
 * that reader run. Idempotent; called by initEngine when it picks torch.
 */
export function fuseLayersBatchNorm(): void {
  if (layersPatched) return;
  layersPatched = true;
  // A model's apply (Container.call) and fit/trainOnBatch's train function both run tfjs-layers' executor on the
  // model's outputs: each pushes its model while it runs.
  const containerProto = Object.getPrototypeOf(tf.LayersModel.prototype) as { call: unknown };
  const callGraph = containerProto.call as (this: ContainerLike, ...args: unknown[]) => unknown;
  containerProto.call = function trackedCall(this: ContainerLike, ...args: unknown[]) {
    return whileRunning(this, () => callGraph.apply(this, args));
  };
  const modelProto = tf.LayersModel.prototype as unknown as { makeTrainFunction: unknown };
  const makeTrain = modelProto.makeTrainFunction as (this: ContainerLike) => (data: unknown) => unknown;
  modelProto.makeTrainFunction = function trackedMakeTrainFunction(this: ContainerLike) {
    const train = makeTrain.call(this);
    return (data: unknown) => whileRunning(this, () => train(data));
  };

  for (const reluLayer of [tf.layers.reLU(), tf.layers.activation({ activation: 'relu' })]) {
    const proto = Object.getPrototypeOf(reluLayer) as { call: unknown };
    const call = proto.call as (this: LayerLike, inputs: tf.Tensor | tf.Tensor[], kwargs: unknown) => tf.Tensor;
    proto.call = function passAppliedRelu(this: LayerLike, inputs: tf.Tensor | tf.Tensor[], kwargs: unknown) {
      const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
      if (x && reluApplied.has(x.dataId) && isPlainReluLayer(this)) return tf.clone(x);
      return call.call(this, inputs, kwargs);
    };
  }

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
    const withRelu = reluFollows(this);
    return tf.tidy(() => {
      const gamma = this.gamma ? (this.gamma.read() as tf.Tensor1D) : null;
      const beta = this.beta ? (this.beta.read() as tf.Tensor1D) : null;
      const { y, mean, variance } = (withRelu ? batchNormReluTraining : batchNormTraining)(input, gamma, beta, this.epsilon);
      const update = (variable: BatchNormLayerLike['movingMean'], value: tf.Tensor) =>
        tf.tidy(() => {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - this.momentum)));
        });
      update(this.movingMean, mean);
      update(this.movingVariance, variance);
      if (withRelu) reluApplied.add(y.dataId);
      return y;
    });
  };
}
