/**
 * batchNormTraining: the fused torch path against the tfjs path (moments + batchNorm) on the cpu backend;
 * batchNormReluTraining against the literal formula; the layer fusion of a batch norm and the relu that reads it.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormReluTraining, batchNormTraining, fuseLayersBatchNorm } from '../../lib/engine/batchnorm';
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

/**
 * The literal definition in double precision, one channel at a time: y = relu((x - mean) / sqrt(var + eps) * g + b)
 * with the biased batch variance, and for the loss sum(y * w) its gradients by the chain rule written out per
 * element: dy = w [pre-activation > 0], dx_i = g/s (dy_i - mean(dy) - (x_i - mean) mean(dy (x - mean)) / s^2).
 */
function literalBatchNormRelu(x: number[], C: number, g: number[], b: number[], eps: number, w: number[]) {
  const M = x.length / C;
  const out = { y: new Array(x.length), mean: [] as number[], variance: [] as number[], dx: new Array(x.length), margin: Infinity };
  const dg: number[] = [];
  const db: number[] = [];
  for (let c = 0; c < C; c++) {
    const xs = Array.from({ length: M }, (_, r) => x[r * C + c]);
    const mean = xs.reduce((p, v) => p + v, 0) / M;
    const variance = xs.reduce((p, v) => p + (v - mean) ** 2, 0) / M;
    const s = Math.sqrt(variance + eps);
    const dy = xs.map((v, r) => (((v - mean) / s) * g[c] + b[c] > 0 ? w[r * C + c] : 0));
    xs.forEach((v, r) => {
      const pre = ((v - mean) / s) * g[c] + b[c];
      out.y[r * C + c] = Math.max(0, pre);
      out.margin = Math.min(out.margin, Math.abs(pre)); // how far the nearest pre-activation is from the relu's kink
    });
    const mdy = dy.reduce((p, v) => p + v, 0) / M;
    const mdyx = dy.reduce((p, v, r) => p + v * (xs[r] - mean), 0) / M;
    xs.forEach((v, r) => (out.dx[r * C + c] = (g[c] / s) * (dy[r] - mdy - ((v - mean) * mdyx) / (s * s))));
    out.mean.push(mean);
    out.variance.push(variance);
    dg.push((mdyx * M) / s);
    db.push(mdy * M);
  }
  return { ...out, dg, db };
}

describe('batchNormReluTraining', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  const backends = torch.isAvailable() ? ['cpu', 'torch'] : ['cpu'];
  for (const backend of backends) {
    for (const shape of [
      [3, 4, 5, 6],
      [11, 4],
    ]) {
      it(`matches the literal formula on ${backend} (x ${shape}): values, statistics, gradients`, async () => {
        await tf.setBackend(backend);
        const rng = new Rng(12);
        const n = shape.reduce((p, v) => p * v, 1);
        const C = shape[shape.length - 1];
        const x = Array.from(rng.normal(n), (v) => v * 1.5 + 0.5);
        const g = Array.from(rng.normal(C), (v) => v + 1);
        const b = Array.from(rng.normal(C), (v) => v * 0.5);
        const w = Array.from(rng.normal(n));
        const want = literalBatchNormRelu(x, C, g, b, 1e-3, w);
        const got = tf.tidy(() => {
          const r = batchNormReluTraining(tf.tensor(x, shape), tf.tensor1d(g), tf.tensor1d(b), 1e-3);
          const grads = tf.grads((a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
            batchNormReluTraining(a, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-3)
              .y.mul(tf.tensor(w, shape))
              .sum(),
          )([tf.tensor(x, shape), tf.tensor1d(g), tf.tensor1d(b)]);
          return [r.y, r.mean, r.variance, ...grads].map((t) => Array.from(t.dataSync()));
        });
        const expected = [want.y, want.mean, want.variance, want.dx, want.dg, want.db];
        // Float rounding cannot flip the relu's mask when no pre-activation is this close to 0.
        expect(want.margin).toBeGreaterThan(1e-4);
        expected.forEach((e, k) => expect(maxAbsDiff(e, got[k])).toBeLessThan(2e-5 * Math.max(1, ...e.map(Math.abs))));
      });
    }
  }

  it('takes a missing scale and offset as 1 and 0', async () => {
    await tf.setBackend(torch.isAvailable() ? 'torch' : 'cpu');
    const x = [0.5, -1, 2, 0.25, -3, 1, 1.5, -0.5];
    const got = tf.tidy(() => Array.from(batchNormReluTraining(tf.tensor(x, [4, 2]), null, null, 1e-3).y.dataSync()));
    const want = literalBatchNormRelu(x, 2, [1, 1], [0, 0], 1e-3, x).y;
    expect(maxAbsDiff(want, got)).toBeLessThan(1e-5);
  });
});

describeTorch('batch norm + relu layers fused in training (fuseLayersBatchNorm)', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  /** conv > bn > relu > global pool > dense, with the bn's symbolic output also returned. */
  function net() {
    const input = tf.input({ shape: [5, 5, 2] });
    const seeded = (seed: number) => tf.initializers.glorotUniform({ seed });
    const conv = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: seeded(1) }).apply(input);
    const bn = tf.layers.batchNormalization().apply(conv) as tf.SymbolicTensor;
    const relu = tf.layers.reLU().apply(bn) as tf.SymbolicTensor;
    const out = tf.layers
      .dense({ units: 2, kernelInitializer: seeded(2) })
      .apply(tf.layers.globalAveragePooling2d({}).apply(relu)) as tf.SymbolicTensor;
    return { input, bn, relu, model: tf.model({ inputs: input, outputs: out }) };
  }

  /** Counts how often each kernel runs until stop() (which returns the counts); a batch norm with relu is its own key. */
  function countKernels(): { stop(): Map<string, number> } {
    const counts = new Map<string, number>();
    const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
    const runKernel = engine.runKernel;
    engine.runKernel = function (name: string, ...rest: unknown[]) {
      const key = name === 'TorchBatchNormTrain' && (rest[1] as { relu?: boolean })?.relu ? `${name}+relu` : name;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return runKernel.call(this, name, ...rest);
    };
    return {
      stop() {
        engine.runKernel = runKernel;
        return counts;
      },
    };
  }

  const x = () => tf.tensor4d(Array.from(new Rng(3).normal(4 * 5 * 5 * 2)), [4, 5, 5, 2]);

  it('runs one fused kernel for a batch norm read only by a relu, with the same output', async () => {
    fuseLayersBatchNorm();
    await tf.setBackend('torch');
    const { model } = net();
    const counter = countKernels();
    const fused = tf.tidy(() => Array.from((model.apply(x(), { training: true }) as tf.Tensor).dataSync()));
    const counts = counter.stop();
    expect(counts.get('TorchBatchNormTrain+relu')).toBe(1);
    expect(counts.get('TorchBatchNormTrain')).toBeUndefined();
    await tf.setBackend('cpu');
    const plain = tf.tidy(() => Array.from((model.apply(x(), { training: true }) as tf.Tensor).dataSync()));
    expect(maxAbsDiff(plain, fused)).toBeLessThan(1e-4);
  });

  it('keeps the batch norm exact when a graph returns its output, or a second layer reads it', async () => {
    fuseLayersBatchNorm();
    await tf.setBackend('torch');
    const { input, bn, relu } = net();
    // A model that ends at the batch norm: the relu is not part of it, so its output must keep negative values.
    const upToBn = tf.model({ inputs: input, outputs: bn });
    const counter = countKernels();
    const y = tf.tidy(() => Array.from((upToBn.apply(x(), { training: true }) as tf.Tensor).dataSync()));
    const counts = counter.stop();
    expect(Math.min(...y)).toBeLessThan(0);
    expect(counts.get('TorchBatchNormTrain+relu')).toBeUndefined();
    // The batch norm's output returned beside the relu's.
    const both = tf.model({ inputs: input, outputs: [bn, relu] });
    const [yBn, yRelu] = tf.tidy(() => (both.apply(x(), { training: true }) as tf.Tensor[]).map((t) => Array.from(t.dataSync())));
    expect(Math.min(...yBn)).toBeLessThan(0);
    expect(
      maxAbsDiff(
        yBn.map((v) => Math.max(0, v)),
        yRelu,
      ),
    ).toBe(0);
    // A second layer reading the batch norm's output.
    const second = net();
    const pooled = tf.layers.globalAveragePooling2d({}).apply(second.bn) as tf.SymbolicTensor;
    const twoReaders = tf.model({ inputs: second.input, outputs: [pooled, second.relu] });
    const counter2 = countKernels();
    const [pooledMeans] = tf.tidy(() => (twoReaders.apply(x(), { training: true }) as tf.Tensor[]).map((t) => Array.from(t.dataSync())));
    expect(counter2.stop().get('TorchBatchNormTrain+relu')).toBeUndefined();
    // Batch-normalised with the offset 0, each channel's batch mean is 0 (after a relu it would be positive).
    const channelMeans = [0, 1, 2].map((c) => (pooledMeans[c] + pooledMeans[3 + c] + pooledMeans[6 + c] + pooledMeans[9 + c]) / 4);
    expect(Math.max(...channelMeans.map(Math.abs))).toBeLessThan(1e-5);
  });

  it('fuses in trainOnBatch and trains as the unfused layers do on the cpu backend', async () => {
    fuseLayersBatchNorm();
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const { model } = net();
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
      const target = tf.ones([4, 2]);
      const losses: number[] = [];
      const counter = countKernels();
      for (let i = 0; i < 3; i++) losses.push((await model.trainOnBatch(x(), target)) as number);
      const fusedRuns = counter.stop().get('TorchBatchNormTrain+relu') ?? 0;
      return { losses, fusedRuns, weights: model.getWeights().map((t) => Array.from(t.dataSync())) };
    };
    const cpu = await run('cpu');
    const torchRun = await run('torch');
    expect(torchRun.fusedRuns).toBe(3);
    cpu.losses.forEach((l, i) => expect(Math.abs(l - torchRun.losses[i])).toBeLessThan(1e-4));
    cpu.weights.forEach((w, k) => expect(maxAbsDiff(w, torchRun.weights[k])).toBeLessThan(1e-4));
  });
});
