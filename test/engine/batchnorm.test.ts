/** batchNormTraining: the fused torch path against the tfjs path (moments + batchNorm) on the cpu backend. */
import * as tf from '@tensorflow/tfjs';
import { batchNormTraining } from '../../lib/engine/batchnorm';
import { maxAbsDiff, Rng, trainOnCpuAndTorch } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const torch = require('tfjs-backend-torch');
const describeTorch = torch.isAvailable() ? describe : describe.skip;

describeTorch('batchNormTraining', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const shape of [
    [4, 5, 6, 3],
    [16, 7],
  ]) {
    it(`matches moments + batchNorm, values and gradients (x ${shape})`, async () => {
      const rng = new Rng(4);
      const n = shape.reduce((p, v) => p * v, 1);
      const C = shape[shape.length - 1];
      const x = Array.from(rng.normal(n), (v) => v * 2 + 1);
      const g = Array.from(rng.normal(C));
      const b = Array.from(rng.normal(C));
      const w = Array.from(rng.normal(n));
      const run = () =>
        tf.tidy(() => {
          const xt = tf.tensor(x, shape);
          const wt = tf.tensor(w, shape);
          const r = batchNormTraining(xt, tf.tensor1d(g), tf.tensor1d(b), 1e-3);
          // The loss also uses the batch mean, so gradient flows through the statistics' outputs as well.
          const grads = tf.grads((a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
            const o = batchNormTraining(a, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-3);
            return o.y.mul(wt).sum().add(o.mean.sum().mul(0.5));
          })([xt, tf.tensor1d(g), tf.tensor1d(b)]);
          return [r.y, r.mean, r.variance, ...grads].map((t) => Array.from(t.dataSync()));
        });
      await tf.setBackend('torch');
      const got = run();
      await tf.setBackend('cpu');
      const want = run();
      for (let k = 0; k < want.length; k++) {
        let m = 0;
        for (let i = 0; i < want[k].length; i++) m = Math.max(m, Math.abs(want[k][i] - got[k][i]));
        expect(m).toBeLessThan(1e-3);
      }
    });
  }
});

describeTorch('tfjs-layers batch norm on torch (fuseLayersBatchNorm)', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('trains with the same losses, weights and moving statistics as the cpu backend', async () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { fuseLayersBatchNorm } = require('../../lib/engine/batchnorm');
    fuseLayersBatchNorm();
    const rng = new Rng(8);
    const x = rng.normal(8 * 6 * 6 * 2);
    const y = Array.from({ length: 8 }, (_, i) => i % 3);
    const build = () =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 4, kernelSize: 3, padding: 'same', useBias: false }),
          tf.layers.batchNormalization({ momentum: 0.9 }),
          tf.layers.reLU(),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
    const out = await trainOnCpuAndTorch(build, x, [8, 6, 6, 2], y, 3, 3);
    for (let i = 0; i < 3; i++) expect(Math.abs(out.torch.losses[i] - out.cpu.losses[i])).toBeLessThan(1e-4);
    out.cpu.weights.forEach((w, k) => {
      expect(maxAbsDiff(w, out.torch.weights[k])).toBeLessThan(1e-3); // includes the moving mean and variance
    });
  });
});
