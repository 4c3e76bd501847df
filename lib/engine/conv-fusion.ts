/**
 * Training-mode conv2d + bias + relu as one native kernel on the torch backend.
 *
 * In training, tfjs-core does not fuse (`fused.conv2d` falls back to conv2d, add and relu whenever gradients are
 * recorded), so every conv layer writes its activations three times. `convBiasActivation` runs the torch backend's
 * TorchConv2D kernel (FusedConv2D: bias in the convolution, relu in place), whose gradient is the relu mask on the
 * output (y > 0 exactly where the pre-activation is > 0), then only the convolution gradients backprop reads.
 * `fuseLayersConv` routes tfjs-layers' Conv2D layers (channels-last, dilation 1, linear or relu) through it while
 * the torch backend records gradients; everything else runs the layer's own code.
 */
import * as tf from '@tensorflow/tfjs';

type Pad = 'same' | 'valid';

/**
 * relu(conv2d(x, w) + b) or conv2d(x, w) + b as the torch backend's TorchConv2D kernel; x NHWC, w [kh, kw, in, out],
 * b [out] or null. Its gradient computes only what backprop reads: no input gradient for a net's first layer, and
 * the filter and bias gradients from one native pass.
 */
export function convBiasActivation(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D | null,
  strides: [number, number],
  pad: Pad,
  relu: boolean,
): tf.Tensor4D {
  const attrs = { strides, pad, activation: relu ? 'relu' : 'linear', withBias: b !== null };
  return tf.engine().runKernel('TorchConv2D', b ? { x, filter: w, bias: b } : { x, filter: w }, attrs as never) as tf.Tensor4D;
}

/** The fields of a tfjs-layers Conv2D that the fused paths read (the class's members are not public API). */
export interface ConvLayerLike {
  rank: number;
  dataFormat: string;
  dilationRate: number[];
  kernelSize: number[];
  strides: number[];
  padding: string;
  activation: { getClassName(): string };
  kernel: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor } | null;
}

let patched = false;

/** Routes tfjs-layers' Conv2D training calls through convBiasActivation on the torch backend. Idempotent. */
export function fuseLayersConv(): void {
  if (patched) return;
  patched = true;
  const conv2dProto = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 }));
  const proto = Object.getPrototypeOf(conv2dProto) as { call: unknown }; // tfjs-layers' Conv base class
  const original = proto.call as (this: unknown, inputs: unknown, kwargs: unknown) => tf.Tensor;
  proto.call = function fusedConvCall(this: ConvLayerLike, inputs: tf.Tensor | tf.Tensor[], kwargs: unknown) {
    const input = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
    const act = this.activation ? this.activation.getClassName() : 'linear';
    const ok =
      input &&
      input.rank === 4 &&
      input.dtype === 'float32' &&
      this.rank === 2 &&
      this.dataFormat === 'channelsLast' &&
      this.dilationRate.every((d) => d === 1) &&
      (this.padding === 'same' || this.padding === 'valid') &&
      (act === 'relu' || act === 'linear') &&
      tf.getBackend() === 'torch' &&
      (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
    if (!ok) return original.call(this, inputs, kwargs);
    return tf.tidy(() =>
      convBiasActivation(
        input as tf.Tensor4D,
        this.kernel.read() as tf.Tensor4D,
        this.bias ? (this.bias.read() as tf.Tensor1D) : null,
        this.strides as [number, number],
        this.padding as Pad,
        act === 'relu',
      ),
    );
  };
}
