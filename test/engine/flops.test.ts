/** The FLOP counter against counts worked out by hand. */
import * as tf from '@tensorflow/tfjs';
import { countFlops } from '../../lib/engine/flops';
import { BlurPool } from '../../lib/models/blurpool';

describe('countFlops', () => {
  it('counts a small sequential net as worked out by hand', () => {
    const m = tf.sequential();
    // 6x6x2 -> conv 3x3 valid, 4 filters, bias, relu -> 4x4x4: 16 px * 4 out * (9 * 2) MACs = 1152 MACs = 2304 FLOPs,
    // + 64 bias adds + 64 relus = 2432. It reads the model input: backward = weight gradient 2304 + 128 = 2432.
    m.add(tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 4, kernelSize: 3, activation: 'relu' }));
    // 2x2 max pool -> 2x2x4 = 16 outputs of 4 inputs each: 64 forward, 64 backward.
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten()); // 0
    // dense 16 -> 3 softmax: 2 * 16 * 3 = 96, + 3 bias, + 3 * 3 softmax = 108; backward 2 * 96 + 12 = 204.
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    const f = countFlops(m);
    expect(f.layers.map((l) => [l.className, l.forward, l.backward])).toEqual([
      ['Conv2D', 2432, 2432],
      ['MaxPooling2D', 64, 64],
      ['Flatten', 0, 0],
      ['Dense', 108, 204],
    ]);
    expect(f.forward).toBe(2604);
    expect(f.train).toBe(2604 + 2432 + 64 + 204);
    m.dispose();
  });

  it('counts residual adds, batch norm, GAP, a conv after the first and BlurPool', () => {
    const x = tf.input({ shape: [4, 4, 2] });
    // BlurPool tri-3 stride 2: 2x2x2 outputs * 9 taps * 2 = 144 (no weights product: backward 144).
    const b = new BlurPool({ filter: 'tri-3', stride: 2 }).apply(x) as tf.SymbolicTensor;
    // conv 1x1, 2 -> 3, no bias, linear, not on the model input: 4 px * 3 * 2 MACs * 2 = 48; backward 96.
    const c = tf.layers.conv2d({ filters: 3, kernelSize: 1, useBias: false }).apply(b) as tf.SymbolicTensor;
    const n = tf.layers.batchNormalization().apply(c) as tf.SymbolicTensor; // 2 * 12 = 24
    const s = tf.layers.add().apply([c, n]) as tf.SymbolicTensor; // 12
    const g = tf.layers.globalAveragePooling2d({}).apply(s) as tf.SymbolicTensor; // 12 inputs
    const f = countFlops(tf.model({ inputs: x, outputs: g }));
    const byClass = Object.fromEntries(f.layers.map((l) => [l.className, [l.forward, l.backward]]));
    expect(byClass).toEqual({
      InputLayer: [0, 0],
      BlurPool: [144, 144],
      Conv2D: [48, 96],
      BatchNormalization: [24, 24],
      Add: [12, 12],
      GlobalAveragePooling2D: [12, 12],
    });
    expect(f.forward).toBe(144 + 48 + 24 + 12 + 12);
  });

  it('refuses a layer class it does not know, naming it', () => {
    const m = tf.sequential();
    m.add(tf.layers.upSampling2d({ inputShape: [2, 2, 1], size: [2, 2] }));
    expect(() => countFlops(m)).toThrow(/UpSampling2D, which the FLOP counter does not know/);
  });
});
