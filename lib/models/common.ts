import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { BlurFilter, blurPool } from './blurpool';

/** What a builder needs to know about the data: the image shape [H, W, C] and the number of classes. */
export interface ModelInput {
  inputShape: [number, number, number];
  numClasses: number;
}

/** 'none' or the blur filter of Zhang's anti-aliasing. */
export type Antialias = 'none' | BlurFilter;

export type Size = 'small' | 'medium' | 'large';
export const SIZES: readonly Size[] = ['small', 'medium', 'large'];

/**
 * Layer factory shared by the builders: every initialiser gets its seed from one Rng (so a seed fixes every
 * weight), and names are prefixed consistently (stage1_block2_conv1, ...).
 */
export class LayerKit {
  /** `batchNorm` false makes `bn` an identity and gives convs a bias instead. */
  constructor(
    private readonly rng: Rng,
    readonly batchNorm = true,
  ) {}

  conv(
    x: tf.SymbolicTensor,
    name: string,
    filters: number,
    kernel: number,
    opts: { stride?: number; padding?: 'same' | 'valid'; bias?: boolean; activation?: 'relu' | 'linear' } = {},
  ): tf.SymbolicTensor {
    return tf.layers
      .conv2d({
        name,
        filters,
        kernelSize: kernel,
        strides: opts.stride ?? 1,
        padding: opts.padding ?? 'same',
        useBias: (opts.bias ?? true) || !this.batchNorm,
        activation: opts.activation ?? 'linear',
        kernelInitializer: tf.initializers.heNormal({ seed: this.rng.seed() }),
        biasInitializer: 'zeros',
      })
      .apply(x) as tf.SymbolicTensor;
  }

  dense(x: tf.SymbolicTensor, name: string, units: number, activation: 'relu' | 'linear' = 'linear'): tf.SymbolicTensor {
    return tf.layers
      .dense({
        name,
        units,
        activation,
        kernelInitializer:
          activation === 'relu'
            ? tf.initializers.heNormal({ seed: this.rng.seed() })
            : tf.initializers.glorotUniform({ seed: this.rng.seed() }),
        biasInitializer: 'zeros',
      })
      .apply(x) as tf.SymbolicTensor;
  }

  bn(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    if (!this.batchNorm) return x;
    return tf.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  }

  relu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    return tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;
  }

  blur(x: tf.SymbolicTensor, name: string, filter: BlurFilter, stride = 2): tf.SymbolicTensor {
    return blurPool({ name, filter, stride }).apply(x) as tf.SymbolicTensor;
  }

  /**
   * 2x2 max-pool at stride 2, or its anti-aliased form (Zhang 2019): max-pool 2x2 at stride 1, then BlurPool at
   * stride 2. Both give floor(n/2) outputs.
   */
  maxPool(x: tf.SymbolicTensor, name: string, antialias: Antialias): tf.SymbolicTensor {
    if (antialias === 'none')
      return tf.layers.maxPooling2d({ name, poolSize: 2, strides: 2, padding: 'valid' }).apply(x) as tf.SymbolicTensor;
    const dense = tf.layers.maxPooling2d({ name: `${name}_max`, poolSize: 2, strides: 1, padding: 'valid' }).apply(x) as tf.SymbolicTensor;
    return this.blur(dense, name, antialias, 2);
  }
}

export function checkAntialias(value: string): Antialias {
  const ok = ['none', 'rect-2', 'tri-3', 'tri-4', 'bin-5'];
  if (!ok.includes(value)) throw new Error(`antialias must be one of ${ok.join(', ')}, found "${value}"`);
  return value as Antialias;
}
