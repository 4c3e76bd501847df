/** fuseLayersConv: tfjs-layers conv layers trained through the one-kernel conv+bias+relu on torch, against cpu. */
import * as tf from '@tensorflow/tfjs';
import { fuseLayersConv, convBiasActivation } from '../../lib/engine/conv-fusion';
import { maxAbsDiff, Rng, trainOnCpuAndTorch } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const torch = require('tfjs-backend-torch');
const describeTorch = torch.isAvailable() ? describe : describe.skip;

describeTorch('conv + bias + relu fusion on torch', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('convBiasActivation gives the values and gradients of relu(conv2d + bias)', async () => {
    const rng = new Rng(12);
    const x = rng.normal(2 * 8 * 8 * 3);
    const w = rng.normal(3 * 3 * 3 * 4);
    const b = rng.normal(4);
    await tf.setBackend('torch');
    for (const [stride, pad] of [
      [1, 'same'],
      [2, 'same'],
      [2, 'valid'],
    ] as Array<[number, 'same' | 'valid']>) {
      const res = tf.tidy(() => {
        const xt = tf.tensor4d(x, [2, 8, 8, 3]);
        const wt = tf.tensor4d(w, [3, 3, 3, 4]);
        const bt = tf.tensor1d(b);
        const loss = (f: (a: tf.Tensor4D, c: tf.Tensor4D, d: tf.Tensor1D) => tf.Tensor) =>
          tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
            f(a as tf.Tensor4D, c as tf.Tensor4D, d as tf.Tensor1D)
              .square()
              .sum(),
          )([xt, wt, bt]);
        const fusedOut = convBiasActivation(xt, wt, bt, [stride, stride], pad, true);
        const plainOut = tf.relu(tf.add(tf.conv2d(xt, wt, stride, pad), bt));
        const g1 = loss((a, c, d) => convBiasActivation(a, c, d, [stride, stride], pad, true));
        const g2 = loss((a, c, d) => tf.relu(tf.add(tf.conv2d(a, c, stride, pad), d)));
        return [fusedOut, plainOut, ...g1, ...g2].map((t) => Array.from(t.dataSync()));
      });
      const pairs = [
        [0, 1],
        [2, 5],
        [3, 6],
        [4, 7],
      ];
      for (const [i, j] of pairs) {
        let m = 0;
        for (let k = 0; k < res[i].length; k++) m = Math.max(m, Math.abs(res[i][k] - res[j][k]));
        expect(m).toBeLessThan(1e-3);
      }
    }
  });

  it('max pooling a fused relu conv masks the gradient on the pooled map: gradients bit-identical to the full mask', async () => {
    const rng = new Rng(14);
    const x = rng.normal(2 * 8 * 8 * 3);
    const w = rng.normal(3 * 3 * 3 * 4);
    const b = rng.normal(4);
    await tf.setBackend('torch');
    for (const [size, stride] of [
      [2, 2],
      [3, 2],
    ]) {
      const res = tf.tidy(() => {
        const [xt, wt, bt] = [tf.tensor4d(x, [2, 8, 8, 3]), tf.tensor4d(w, [3, 3, 3, 4]), tf.tensor1d(b)];
        // `copy`: the pool reads y + 0 (equal values, another tensor), so MaxPoolGrad does not mask and the relu does.
        const grads = (copy: boolean) =>
          tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
            const y = convBiasActivation(a as tf.Tensor4D, c as tf.Tensor4D, d as tf.Tensor1D, [1, 1], 'same', true);
            return tf
              .maxPool(copy ? (y.add(0) as tf.Tensor4D) : y, size, stride, 'valid')
              .square()
              .sum();
          })([xt, wt, bt]);
        const passed = torch.stats().reluMaskedByPool;
        const pooled = grads(false);
        expect(torch.stats().reluMaskedByPool - passed).toBe(1);
        const full = grads(true);
        expect(torch.stats().reluMaskedByPool - passed).toBe(1);
        return [...pooled, ...full].map((t) => Array.from(t.dataSync()));
      });
      for (let i = 0; i < 3; i++) expect(res[i]).toEqual(res[i + 3]);
    }
  });

  it('a layers CNN trains with the same losses and weights as on the cpu backend', async () => {
    fuseLayersConv();
    const rng = new Rng(13);
    const x = rng.normal(8 * 10 * 10 * 2);
    const y = Array.from({ length: 8 }, (_, i) => i % 3);
    const build = () =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [10, 10, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
          tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
          tf.layers.conv2d({ filters: 5, kernelSize: 1, useBias: false }),
          tf.layers.globalAveragePooling2d({}),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
    const out = await trainOnCpuAndTorch(build, x, [8, 10, 10, 2], y, 3, 3);
    for (let i = 0; i < 3; i++) expect(Math.abs(out.torch.losses[i] - out.cpu.losses[i])).toBeLessThan(1e-4);
    out.cpu.weights.forEach((w, k) => {
      expect(maxAbsDiff(w, out.torch.weights[k])).toBeLessThan(1e-3);
    });
  });
});

describeTorch('the torch conv kernel computes only the gradients backprop reads', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  /** Counts calls of the named torch kernels while fn runs. */
  function countKernels<T>(names: string[], fn: () => T): { result: T; calls: Record<string, number> } {
    const calls: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    const originals = names.map((n) => {
      const k = tf.getKernel(n, 'torch') as tf.KernelConfig;
      const f = k.kernelFunc;
      k.kernelFunc = (args) => {
        calls[n]++;
        return f(args);
      };
      return [k, f] as const;
    });
    try {
      return { result: fn(), calls };
    } finally {
      for (const [k, f] of originals) k.kernelFunc = f;
    }
  }

  it('first layer: no input gradient; filter and bias from one pass; values as the plain ops (incl. a strided 1x1)', async () => {
    await tf.setBackend('torch');
    const rng = new Rng(14);
    const names = ['Conv2DBackpropInput', 'TorchConv2DBackpropFilterBias', 'Conv2DBackpropFilter', 'Sum'];
    for (const [k, stride, pad, relu] of [
      [3, 1, 'same', true],
      [1, 2, 'valid', false],
    ] as Array<[number, number, 'same' | 'valid', boolean]>) {
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(rng.normal(2 * 9 * 9 * 3), [2, 9, 9, 3]);
      const w = tf.tensor4d(rng.normal(k * k * 3 * 4), [k, k, 3, 4]);
      const b = tf.tensor1d(rng.normal(4));
      const loss = (f: (c: tf.Tensor4D, d: tf.Tensor1D) => tf.Tensor) =>
        tf.grads((c: tf.Tensor, d: tf.Tensor) =>
          f(c as tf.Tensor4D, d as tf.Tensor1D)
            .square()
            .sum(),
        )([w, b]);
      const fused = countKernels(names, () => loss((c, d) => convBiasActivation(x, c, d, [stride, stride], pad, relu)));
      expect(fused.calls).toEqual({ Conv2DBackpropInput: 0, TorchConv2DBackpropFilterBias: 1, Conv2DBackpropFilter: 0, Sum: 1 });
      const plain = loss((c, d) => {
        const y = tf.add(tf.conv2d(x, c, stride, pad), d);
        return relu ? tf.relu(y) : y;
      });
      fused.result.forEach((g, i) =>
        expect(maxAbsDiff(g.dataSync() as Float32Array, plain[i].dataSync() as Float32Array)).toBeLessThan(1e-4),
      );
      tf.dispose([x, w, b, ...fused.result, ...plain]);
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
