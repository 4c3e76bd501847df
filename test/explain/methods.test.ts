import * as tf from '@tensorflow/tfjs';
import {
  CAM,
  camLiteral,
  GradCAM,
  GradientXInput,
  IntegratedGradients,
  integratedGradientsLiteral,
  Occlusion,
  occlusionLiteral,
  onImageGrid,
  PIXEL_GEOMETRY,
  Saliency,
  selectClasses,
  SlidingWindow,
  splitAt,
  windowGeometry,
  createMethod,
} from '../../lib/explain/index';
import { buildModel } from '../../lib/models/index';
import { Rng } from '../../lib/util/rng';
import { randomizeWeights, randomTensor } from '../models/helpers';

/** Exact answers of each method on tiny hand-weighted models, and the fast code against its literal twin. */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** logits = W . flatten(x) + b for x [2,2,2] (8 inputs, pixel-major), 2 classes; W[k] = weights of input k. */
const W = [
  [1, -1],
  [-2, 0.5],
  [0.5, 2],
  [3, 1],
  [-1, -1],
  [0, 4],
  [2, -3],
  [-0.5, 1],
];
const B = [0.25, -0.5];
function linearModel(): tf.LayersModel {
  const inp = tf.input({ shape: [2, 2, 2] });
  const flat = tf.layers.flatten().apply(inp) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, weights: [tf.tensor2d(W), tf.tensor1d(B)] }).apply(flat) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: out });
}
const X = [0.1, 0.9, 0.4, 0.3, 0.8, 0.2, 0.6, 0.5]; // pixel p has channels X[2p], X[2p+1]
const xLinear = () => tf.tensor4d(X, [1, 2, 2, 2]);
const close = (a: ArrayLike<number>, b: ArrayLike<number>, digits = 5) =>
  Array.from(a).forEach((v, i) => expect(v).toBeCloseTo(b[i], digits));

describe('gradient methods on a linear model', () => {
  const model = linearModel();
  it('saliency is the largest |weight| over the channels of each pixel', () => {
    const h = new Saliency(model).attribute(xLinear(), [1]);
    close(h.values, [1, 2, 4, 3]); // class-1 weights per pixel: (-1, 0.5), (2, 1), (-1, 4), (-3, 1)
    expect(h.geometry).toEqual(PIXEL_GEOMETRY);
  });
  it('gradient x input with a black baseline is x * w summed over channels', () => {
    const h = new GradientXInput(model, { baseline: 'black' }).attribute(xLinear(), [0]);
    close(h.values, [0.1 * 1 + 0.9 * -2, 0.4 * 0.5 + 0.3 * 3, 0.8 * -1 + 0.2 * 0, 0.6 * 2 + 0.5 * -0.5]);
  });
  it('integrated gradients of a linear model equal gradient x input and sum to f(x) - f(baseline)', () => {
    const ig = new IntegratedGradients(model, { baseline: 'mean-colour', steps: 4 }).attribute(xLinear(), [0]);
    const gxi = new GradientXInput(model, { baseline: 'mean-colour' }).attribute(xLinear(), [0]);
    close(ig.values, gxi.values);
    const mean = [(0.1 + 0.4 + 0.8 + 0.6) / 4, (0.9 + 0.3 + 0.2 + 0.5) / 4];
    const f = (v: number[]) => v.reduce((a, xi, k) => a + xi * W[k][0], B[0]);
    const base = X.map((_, k) => mean[k % 2]);
    expect(ig.values.reduce((a, v) => a + v, 0)).toBeCloseTo(f(X) - f(base), 5);
  });
  it('occlusion with 1-pixel windows removes each pixel evidence w . (x - mean colour)', () => {
    const h = new Occlusion(model, { window: 1, stride: 1 }).attribute(xLinear(), [1]);
    const mean = [(0.1 + 0.4 + 0.8 + 0.6) / 4, (0.9 + 0.3 + 0.2 + 0.5) / 4];
    close(
      h.values,
      [0, 1, 2, 3].map((p) => W[2 * p][1] * (X[2 * p] - mean[0]) + W[2 * p + 1][1] * (X[2 * p + 1] - mean[1])),
    );
    expect(h.geometry).toEqual(windowGeometry(1, 1));
  });
});

describe('sliding window', () => {
  it('holds the target probability of the crop model on every window', () => {
    // Crop model on 2x2x1 crops: logits [s, -s] with s the sum of the crop, so p(class 0) = sigmoid(2s).
    const inp = tf.input({ shape: [2, 2, 1] });
    const flat = tf.layers.flatten().apply(inp) as tf.SymbolicTensor;
    const out = tf.layers
      .dense({ units: 2, weights: [tf.tensor2d([1, -1, 1, -1, 1, -1, 1, -1], [4, 2]), tf.zeros([2])] })
      .apply(flat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: out });
    const img = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]; // 3x3
    const h = new SlidingWindow(model, { stride: 1 }).attribute(tf.tensor4d(img, [1, 3, 3, 1]), [0]);
    const sum = (y: number, x: number) => img[y * 3 + x] + img[y * 3 + x + 1] + img[(y + 1) * 3 + x] + img[(y + 1) * 3 + x + 1];
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    expect([h.height, h.width]).toEqual([2, 2]);
    close(h.values, [sig(2 * sum(0, 0)), sig(2 * sum(0, 1)), sig(2 * sum(1, 0)), sig(2 * sum(1, 1))]);
    expect(h.geometry).toEqual(windowGeometry(2, 1));
  });
  it('refuses a window larger than the image and an image smaller than the model input', () => {
    const model = buildModel({ family: 'gap', widths: [2, 2] }, { inputShape: [8, 8, 1], numClasses: 2 }, new Rng(1));
    expect(() => new SlidingWindow(model).attribute(tf.zeros([1, 6, 6, 1]) as tf.Tensor4D, [0])).toThrow(
      /8x8 input is larger than the 6x6 image/,
    );
  });
});

describe('CAM and Grad-CAM', () => {
  const model = buildModel({ family: 'gap', widths: [3, 5] }, { inputShape: [8, 8, 2], numClasses: 3 }, new Rng(2));
  randomizeWeights(model, 9);
  const x = randomTensor([2, 8, 8, 2], 3) as tf.Tensor4D;
  const dense = model.getLayer('logits');
  const [kernel, bias] = dense.getWeights().map((w) => w.dataSync());

  it('the spatial mean of the CAM equals the logit minus the bias, for every class', () => {
    const cam = new CAM(model);
    const all = cam.allClasses(x);
    const logits = (model.predict(x) as tf.Tensor).dataSync();
    const hw = all.height * all.width;
    for (let i = 0; i < 2; i++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let p = 0; p < hw; p++) s += all.values[(i * hw + p) * 3 + c];
        expect(s / hw).toBeCloseTo(logits[i * 3 + c] - bias[c], 5);
      }
    }
  });
  it('equals its literal definition sum_d w[d,c] f_d(y,x)', () => {
    const f = splitAt(model, 'features').body.predict(x) as tf.Tensor4D;
    const h = new CAM(model).attribute(x, [2, 1]);
    close(h.values, camLiteral(f.dataSync(), f.shape as [number, number, number, number], kernel, 3, [2, 1]));
  });
  it('Grad-CAM on a GAP head is the ReLU of the CAM divided by the map size', () => {
    const cam = new CAM(model).attribute(x, [0, 2]);
    const grad = new GradCAM(model).attribute(x, [0, 2]);
    const hw = cam.height * cam.width;
    close(
      grad.values,
      Array.from(cam.values, (v) => Math.max(0, v) / hw),
    );
  });
  it('CAM explains why it cannot run on a model without a GAP head', () => {
    const vgg = buildModel({ family: 'vgg', widths: [2, 2], hidden: 4 }, { inputShape: [8, 8, 1], numClasses: 2 }, new Rng(1));
    expect(() => createMethod('cam', vgg)).toThrow(/cannot explain this model: it needs a global-average-pooling -> dense head/);
    expect(new GradCAM(vgg).layer).toBe('features');
  });
});

describe('fast code against its literal twin', () => {
  const model = buildModel({ family: 'resnet', widths: [3, 4], blocks: 1 }, { inputShape: [6, 6, 2], numClasses: 3 }, new Rng(5));
  randomizeWeights(model, 6);
  const x = randomTensor([2, 6, 6, 2], 7) as tf.Tensor4D;
  it('integrated gradients', () => {
    const fast = new IntegratedGradients(model, { steps: 5 }).attribute(x, [1, 2]);
    const literal = integratedGradientsLiteral(model, x, [1, 2], 5);
    close(fast.values, [...literal[0], ...literal[1]], 4);
  });
  it('occlusion', () => {
    const fast = new Occlusion(model, { window: 3, stride: 2 }).attribute(x, [0, 1]);
    const literal = occlusionLiteral(model, x, [0, 1], 3, 2);
    close(fast.values, [...literal[0], ...literal[1]], 4);
  });
});

describe('heatmap geometry', () => {
  const base = { method: 't', n: 1, imageHeight: 8, imageWidth: 8, targets: [0], signed: true };
  it('paints a coarse map as tiles centred on each field, leaving uncovered pixels NaN', () => {
    // 2x2 cells of 4-px fields every 4 px, starting at pixel 0: each cell is exactly one quadrant.
    const h = { ...base, height: 2, width: 2, geometry: windowGeometry(4, 4), values: Float32Array.from([1, 2, 3, 4]) };
    const img = onImageGrid(h, 0);
    expect(img[0]).toBe(1);
    expect(img[7]).toBe(2);
    expect(img[7 * 8]).toBe(3);
    expect(img[63]).toBe(4);
    // Fields of 5 px every 4 px starting at 0 (a BagNet-5 map on 8 px: one cell, centred at 2.5): 4-px tile [0.5, 4.5).
    const one = { ...base, height: 1, width: 1, geometry: windowGeometry(5, 4), values: Float32Array.from([7]) };
    const row = Array.from(onImageGrid(one, 0).subarray(0, 8));
    expect(row.map((v) => (Number.isNaN(v) ? null : v))).toEqual([7, 7, 7, 7, null, null, null, null]);
  });
  it('a per-pixel map is the image grid itself', () => {
    const values = Float32Array.from({ length: 64 }, (_, i) => i);
    expect(Array.from(onImageGrid({ ...base, height: 8, width: 8, geometry: PIXEL_GEOMETRY, values }, 0))).toEqual(Array.from(values));
  });
  it('selectClasses picks each image its class', () => {
    const maps = {
      ...base,
      n: 2,
      height: 1,
      width: 2,
      classes: 2,
      geometry: PIXEL_GEOMETRY,
      values: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
    };
    expect(Array.from(selectClasses(maps, [1, 0]).values)).toEqual([2, 4, 5, 7]);
  });
});
