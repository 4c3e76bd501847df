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
