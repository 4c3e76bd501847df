import * as tf from '@tensorflow/tfjs';
import { reflectPad } from '../engine/reflect-pad';

/**
 * Anti-aliased downsampling after Zhang, "Making Convolutional Networks Shift-Invariant Again" (ICML 2019,
 * arXiv 1904.11486): low-pass filter with a fixed binomial kernel, applied depthwise, then subsample.
 *
 * Filters (normalised outer products of binomial rows): Rect-2 [1,1], Tri-3 [1,2,1], Tri-4 [1,3,3,1], Bin-5 [1,4,6,4,1].
 * Padding is reflect with pads floor((k-1)/2) before and ceil((k-1)/2) after, as in the reference code; on maps too
 * small to reflect (size <= pad) it falls back to zero padding (antialiased-cnns issue #47).
 */
export type BlurFilter = 'rect-2' | 'tri-3' | 'tri-4' | 'bin-5';

export const BLUR_FILTERS: readonly BlurFilter[] = ['rect-2', 'tri-3', 'tri-4', 'bin-5'];

const ROWS: Record<BlurFilter, number[]> = {
  'rect-2': [1, 1],
  'tri-3': [1, 2, 1],
  'tri-4': [1, 3, 3, 1],
  'bin-5': [1, 4, 6, 4, 1],
};

/** The k x k filter of a blur, row-major, summing to 1. */
export function blurKernel(filter: BlurFilter): { size: number; weights: Float32Array } {
  const row = ROWS[filter];
  if (!row) throw new Error(`unknown blur filter "${filter}"; expected one of ${BLUR_FILTERS.join(', ')}`);
  const k = row.length;
  const total = row.reduce((a, b) => a + b, 0) ** 2;
  const weights = new Float32Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) weights[i * k + j] = (row[i] * row[j]) / total;
  return { size: k, weights };
}

/** Pads (before, after) a blur of size k uses on each spatial axis. */
export function blurPads(k: number): [number, number] {
  return [Math.floor((k - 1) / 2), Math.ceil((k - 1) / 2)];
}

/** Reflect padding with an exact gradient (native on the torch backend); see lib/engine/reflect-pad. */
export { reflectPad } from '../engine/reflect-pad';

export interface BlurPoolArgs {
  filter?: BlurFilter;
  stride?: number;
  name?: string;
}

/**
 * BlurPool layer: reflect pad, then depthwise convolution with the fixed binomial filter at `stride` (default 2).
 * Output size ceil(n / stride). No trainable weights. Registered with tf.serialization, so saved models load.
 */
export class BlurPool extends tf.layers.Layer {
  static className = 'BlurPool';
  readonly filter: BlurFilter;
  readonly stride: number;
  private kernel: tf.Tensor4D | null = null;

  constructor(args: BlurPoolArgs = {}) {
    super({ name: args.name, trainable: false });
    this.filter = args.filter ?? 'tri-3';
    this.stride = args.stride ?? 2;
    blurKernel(this.filter); // validates
  }

  get kernelSize(): number {
    return ROWS[this.filter].length;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[3];
    if (channels == null) throw new Error('BlurPool needs a known channel count');
    const { size, weights } = blurKernel(this.filter);
    const data = new Float32Array(size * size * channels);
    for (let t = 0; t < size * size; t++) for (let c = 0; c < channels; c++) data[t * channels + c] = weights[t];
    this.kernel?.dispose();
    this.kernel = tf.keep(tf.tensor4d(data, [size, size, channels, 1]));
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const down = (n: number | null) => (n == null ? null : Math.ceil(n / this.stride));
    return [s[0], down(s[1]), down(s[2]), s[3]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const k = this.kernelSize;
      const p = blurPads(k);
      // n + k - 1 padded values, valid conv at stride s: ceil(n / s) outputs.
      const padded = reflectPad(x, [p, p]);
      return tf.depthwiseConv2d(padded, this.kernel!, this.stride, 'valid');
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filter: this.filter, stride: this.stride };
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    this.kernel?.dispose();
    this.kernel = null;
    return super.dispose();
  }
}
tf.serialization.registerClass(BlurPool);

/** A BlurPool layer (see the class). */
export function blurPool(args: BlurPoolArgs = {}): BlurPool {
  return new BlurPool(args);
}
