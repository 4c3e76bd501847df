import * as tf from '@tensorflow/tfjs';
import { countHits, learningRate, Optimizer } from '../../lib/train';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('optimisers', () => {
  test('Adam follows the literal update (bias-corrected moments), weight decay on kernels only', () => {
    const w = tf.variable(tf.tensor2d([[1, -2]]));
    const b = tf.variable(tf.tensor1d([0.5]));
    const opt = new Optimizer({ type: 'adam', lr: 0.1, weightDecay: 0.01 }, [w, b]);
    const gs = [
      [0.3, -0.1],
      [0.2, 0.4],
      [-0.5, 0.1],
    ];
    const ref = { w: [1, -2], b: 0.5, m: [0, 0, 0], v: [0, 0, 0] };
    gs.forEach((g, step) => {
      opt.apply([tf.tensor2d([g]), tf.tensor1d([g[0]])], 0.1);
      const t = step + 1;
      const grads = [g[0] + 0.01 * ref.w[0], g[1] + 0.01 * ref.w[1], g[0]];
      const vals = [ref.w[0], ref.w[1], ref.b];
      for (let i = 0; i < 3; i++) {
        ref.m[i] = 0.9 * ref.m[i] + 0.1 * grads[i];
        ref.v[i] = 0.999 * ref.v[i] + 0.001 * grads[i] ** 2;
        vals[i] -= (0.1 * (ref.m[i] / (1 - 0.9 ** t))) / (Math.sqrt(ref.v[i] / (1 - 0.999 ** t)) + 1e-8);
      }
      [ref.w[0], ref.w[1], ref.b] = vals;
    });
    const got = [...w.dataSync(), ...b.dataSync()];
    [ref.w[0], ref.w[1], ref.b].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    opt.dispose();
  });

  test('SGD with momentum follows PyTorch (v = mu v + g; w -= lr v), state round-trips', () => {
    const w = tf.variable(tf.tensor1d([1]));
    const opt = new Optimizer({ type: 'sgd', lr: 0.1, momentum: 0.5, weightDecay: 0 }, [w]);
    opt.apply([tf.tensor1d([1])], 0.1); // v=1, w=0.9
    opt.apply([tf.tensor1d([1])], 0.1); // v=1.5, w=0.75
    expect(w.dataSync()[0]).toBeCloseTo(0.75, 6);
    const state = opt.state();
    const w2 = tf.variable(tf.tensor1d([0.75]));
    const opt2 = new Optimizer({ type: 'sgd', lr: 0.1, momentum: 0.5 }, [w2]);
    opt2.setState(state);
    opt.apply([tf.tensor1d([2])], 0.2);
    opt2.apply([tf.tensor1d([2])], 0.2);
    expect(w2.dataSync()[0]).toBe(w.dataSync()[0]);
    expect(opt2.step).toBe(3);
  });
});

describe('schedules', () => {
  test('step, cosine, warm-up', () => {
    expect(learningRate(0.1, { type: 'step', stepEpochs: 2, gamma: 0.5 }, 3, 0, 10, 6)).toBeCloseTo(0.05);
    expect(learningRate(0.1, { type: 'step', stepEpochs: 2, gamma: 0.5 }, 4, 5, 10, 6)).toBeCloseTo(0.025);
    expect(learningRate(0.1, { type: 'cosine' }, 0, 0, 10, 4)).toBeCloseTo(0.1);
    expect(learningRate(0.1, { type: 'cosine' }, 2, 0, 10, 4)).toBeCloseTo(0.05);
    expect(learningRate(0.1, { type: 'cosine', minLr: 0.01 }, 3, 10, 10, 4)).toBeCloseTo(0.01);
    expect(learningRate(0.1, { type: 'constant', warmupEpochs: 1 }, 0, 4, 10, 4)).toBeCloseTo(0.05);
    expect(learningRate(0.1, { type: 'constant', warmupEpochs: 1 }, 1, 0, 10, 4)).toBeCloseTo(0.1);
  });
});

describe('metrics', () => {
  test('top-1 and top-k hits', () => {
    const logits = [0.1, 0.5, 0.4, /**/ 0.9, 0.05, 0.05, /**/ 0.2, 0.3, 0.5];
    const { top1, topK } = countHits(logits, [2, 0, 0], 3, 2);
    expect(top1).toEqual([false, true, false]);
    expect(topK).toEqual([true, true, false]);
  });
});
