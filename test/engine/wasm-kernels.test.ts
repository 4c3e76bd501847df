/**
 * The training kernels lib/engine adds to the wasm backend, against the cpu backend: conv2d and depthwise gradients
 * (asymmetric 'same' padding, strides, channel multipliers), max-pool gradient (negative windows, ties), and a
 * layers model that trains on wasm with the cpu backend's losses.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../lib/engine/wasm-kernels';
import { Rng } from './helpers';

type Fn = () => tf.Tensor[];

async function onBoth(fn: Fn): Promise<{ wasm: number[][]; cpu: number[][] }> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => fn().map((t) => Array.from(t.dataSync())));
  };
  return { wasm: await run('wasm'), cpu: await run('cpu') };
}

function expectClose(a: number[][], b: number[][], tol: number): void {
  expect(a.length).toBe(b.length);
  for (let k = 0; k < a.length; k++) {
    expect(a[k].length).toBe(b[k].length);
    let m = 0;
    for (let i = 0; i < a[k].length; i++) m = Math.max(m, Math.abs(a[k][i] - b[k][i]));
    expect(m).toBeLessThan(tol);
  }
}

describe('wasm training kernels', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    expect(await tf.setBackend('wasm')).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  const rng = new Rng(9);
  const convCases: Array<{ xs: [number, number, number, number]; fs: [number, number, number, number]; s: number; pad: 'same' | 'valid' }> =
    [
      { xs: [2, 8, 8, 3], fs: [3, 3, 3, 4], s: 2, pad: 'same' },
      { xs: [2, 7, 9, 2], fs: [3, 2, 2, 3], s: 1, pad: 'same' },
      { xs: [1, 9, 8, 3], fs: [2, 3, 3, 2], s: 2, pad: 'valid' },
    ];
  for (const k of convCases) {
    it(`conv2d gradients (x ${k.xs}, f ${k.fs}, stride ${k.s}, ${k.pad})`, async () => {
      const x = rng.normal(k.xs.reduce((p, v) => p * v, 1));
      const f = rng.normal(k.fs.reduce((p, v) => p * v, 1));
      const r = await onBoth(() => {
        const xt = tf.tensor4d(x, k.xs);
        const ft = tf.tensor4d(f, k.fs);
        return tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf
            .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, k.s, k.pad)
            .square()
            .sum(),
        )([xt, ft]);
      });
      expectClose(r.wasm, r.cpu, 1e-3);
    });
    it(`depthwise gradients (x ${k.xs}, multiplier 2, stride ${k.s}, ${k.pad})`, async () => {
      const fs: [number, number, number, number] = [k.fs[0], k.fs[1], k.xs[3], 2];
      const x = rng.normal(k.xs.reduce((p, v) => p * v, 1));
      const f = rng.normal(fs.reduce((p, v) => p * v, 1));
      const r = await onBoth(() => {
        const xt = tf.tensor4d(x, k.xs);
        const ft = tf.tensor4d(f, fs);
        return tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf
            .depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, k.s, k.pad)
            .square()
            .sum(),
        )([xt, ft]);
      });
      expectClose(r.wasm, r.cpu, 1e-3);
    });
  }

  it('max-pool gradient: windows of negative values and ties go to the first maximum, as on cpu', async () => {
    const x = rng.normal(2 * 6 * 7 * 3).map((v) => Math.round(v * 2) / 2 - 3); // negative, many ties
    const r = await onBoth(() => {
      const xt = tf.tensor4d(x, [2, 6, 7, 3]);
      return [
        tf.grad((a: tf.Tensor) =>
          tf
            .maxPool(a as tf.Tensor4D, 2, 2, 'same')
            .mul(tf.range(1, 2 * 3 * 4 * 3 + 1).reshape([2, 3, 4, 3]))
            .sum(),
        )(xt),
        tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 3, 1, 'valid').sum())(xt),
      ];
    });
    expectClose(r.wasm, r.cpu, 1e-6);
  });

  it('trains a small layers CNN with the same losses as the cpu backend', async () => {
    const x = rng.normal(8 * 10 * 10 * 2);
    const y = Array.from({ length: 8 }, (_, i) => i % 3);
    let weights: tf.Tensor[] | null = null;
    const losses: Record<string, number[]> = {};
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const m = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [10, 10, 2], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
          tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
      if (weights) m.setWeights(weights.map((w) => tf.tensor(w.dataSync(), w.shape)));
      else weights = m.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape));
      m.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
      const xt = tf.tensor4d(x, [8, 10, 10, 2]);
      const yt = tf.oneHot(tf.tensor1d(y, 'int32'), 3);
      losses[backend] = [];
      for (let i = 0; i < 4; i++) losses[backend].push((await m.trainOnBatch(xt, yt)) as number);
      tf.dispose([xt, yt]);
      m.dispose();
    }
    for (let i = 0; i < 4; i++) expect(Math.abs(losses.wasm[i] - losses.cpu[i])).toBeLessThan(1e-4);
  });
});
