import * as tf from '@tensorflow/tfjs';
import { gaussianBlur } from '../../lib/data/transforms';
import { CrispMask, maskLoss, MaskResult, maskStats } from '../../lib/explain/crisp-mask';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** 8x8x1 -> flatten -> dense(2): logit0 = 0.5 * (sum of column 0) - 2, logit1 = 0. Only column 0 matters. */
function columnModel(): tf.LayersModel {
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 1] }), tf.layers.dense({ units: 2 })] });
  const w = new Float32Array(64 * 2);
  for (let y = 0; y < 8; y++) w[y * 8 * 2] = 0.5;
  model.layers[1].setWeights([tf.tensor2d(w, [64, 2]), tf.tensor1d([-2, 0])]);
  return model;
}

/** A bright column 0 (1) on black: the blur spreads it, so blurring column 0 lowers logit0. */
function columnImage(): tf.Tensor4D {
  const v = new Float32Array(64);
  for (let y = 0; y < 8; y++) v[y * 8] = 1;
  return tf.tensor4d(v, [1, 8, 8, 1]);
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('crisp mask', () => {
  const model = columnModel();
  const x = columnImage();
  afterAll(() => {
    model.dispose();
    x.dispose();
  });

  it('maskLoss is p + l1 mean|1-m| + tv (mean|dx|^b + mean|dy|^b) + bin mean|m(1-m)| (hand-worked)', () => {
    const onehot = tf.tensor2d([[1, 0]]);
    const st = { iterations: 0, lr: 0.1, l1: 0.5, tv: 2, beta: 3, bin: 4 };
    // m = 1: phi = x, p = sigmoid(0.5*8 - 2) (two classes: softmax = sigmoid of the difference); every term else 0.
    const ones = tf.ones([1, 8, 8, 1]) as tf.Tensor4D;
    expect(maskLoss(model, ones, x, onehot, st).dataSync()[0]).toBeCloseTo(sigmoid(2), 5);
    // m = 0.5 in columns 0..3 and 1 elsewhere on an 8x8 mask: l1 mean = 0.5*32/64 = 0.25; dx has one jump of 0.5 per
    // row (8 of 56 differences): mean 8*0.125/56; dy none; bin mean = 0.25*32/64 = 0.125.
    const half = tf.tensor4d(
      Array.from({ length: 64 }, (_, p) => (p % 8 < 4 ? 0.5 : 1)),
      [1, 8, 8, 1],
    );
    const phi = tf.tidy(() => tf.add(tf.mul(half, x), tf.mul(tf.sub(1, half), gaussianBlur(x, 3, 2)))) as tf.Tensor4D;
    const col0 = Array.from(phi.dataSync())
      .filter((_, p) => p % 8 === 0)
      .reduce((a, b) => a + b, 0);
    const expected = sigmoid(0.5 * col0 - 2) + 0.5 * 0.25 + 2 * ((8 * 0.125) / 56) + 4 * 0.125;
    expect(maskLoss(model, half, phi, onehot, st).dataSync()[0]).toBeCloseTo(expected, 5);
    tf.dispose([onehot, ones, half, phi]);
  });

  it('finds a mask whose blur lowers the class probability, and perturbs the column the class reads', () => {
    const method = new CrispMask(model, { stage1: { iterations: 40 }, stage2: { iterations: 25 }, maskScale: 2, progress: false });
    const r = method.optimise(x, [0]);
    expect(r.pCrisp[0]).toBeLessThan(0.5 * r.p0[0]);
    const sal = method.attribute(x, [0]).values;
    const colMean = (c: number) =>
      Array.from(sal)
        .filter((_, p) => p % 8 === c)
        .reduce((a, b) => a + b, 0) / 8;
    expect(colMean(0)).toBeGreaterThan(colMean(7) + 0.3);
  });

  it('keeps the whole image when sparsity dominates (l1 huge): nothing perturbed, the probability unchanged', () => {
    const stage = { l1: 100, tv: 0, bin: 0, iterations: 20 };
    const r = new CrispMask(model, { stage1: stage, stage2: stage, maskScale: 1, initRadius: 0, progress: false }).optimise(x, [0]);
    expect(Math.min(...r.crisp)).toBeGreaterThan(0.95);
    expect(Math.abs(r.pCrisp[0] - r.p0[0])).toBeLessThan(0.02);
  });

  it('maskStats: drop, normalised score, area and score as the reference code (hand-worked)', () => {
    const crisp = new Float32Array(4).fill(1);
    crisp[0] = 0; // one of 4 pixels perturbed
    const r: MaskResult = {
      n: 1,
      height: 2,
      width: 2,
      targets: [0],
      smooth: crisp,
      crisp,
      p0: [0.8],
      pBlur: [0.2],
      pSmooth: [0.4],
      pCrisp: [0.4],
    };
    const s = maskStats(r, 0, 'crisp');
    expect(s.drop).toBeCloseTo(0.5, 10);
    expect(s.normalisedScore).toBeCloseTo((0.4 - 0.8) / (0.8 - 0.2), 10);
    expect(s.area).toBe(0.25);
    expect(s.score).toBeCloseTo(0.1, 10);
  });

  it('rejects bad iteration counts with a clear error', () => {
    expect(() => new CrispMask(model).optimise(x, [0], { stage1: { iterations: -1 } })).toThrow(
      /stage1.iterations must be a non-negative integer, found -1/,
    );
  });
});
