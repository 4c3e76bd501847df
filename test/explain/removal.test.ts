import * as tf from '@tensorflow/tfjs';
import { occlude } from '../../lib/data/transforms';
import { GradientXInput, IntegratedGradients, Saliency } from '../../lib/explain/gradient';
import { cellScores, patchGrid, randomOrders, rankCells, removalCurve } from '../../lib/explain/removal';
import { Rng } from '../../lib/util/rng';
import { randomTensor } from '../models/helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** logits = W · flatten(x) + b: gradients are W, exactly. */
function linearModel(h: number, w: number, c: number, classes: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [h, w, c] }),
      tf.layers.dense({ units: classes, kernelInitializer: tf.initializers.randomNormal({ seed: 3 }), biasInitializer: 'ones' }),
    ],
  });
}

describe('patch removal', () => {
  it('grid cells, their scores and their ranking', () => {
    const cells = patchGrid(5, 4, 2);
    expect(cells).toEqual([
      { x: 0, y: 0, width: 2, height: 2 },
      { x: 2, y: 0, width: 2, height: 2 },
      { x: 0, y: 2, width: 2, height: 2 },
      { x: 2, y: 2, width: 2, height: 2 },
    ]);
    const map = Float32Array.from({ length: 20 }, (_, i) => i); // value = y*4 + x
    expect(cellScores(map, 5, 4, 1, cells)).toEqual([0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15]);
    expect(rankCells([1, 5, 5, -2])).toEqual([1, 2, 0, 3]);
    const orders = randomOrders(3, 4, new Rng(1));
    for (const o of orders) expect([...o].sort()).toEqual([0, 1, 2, 3]);
  });

  it('removal curves match masking the first k cells by hand', () => {
    const model = linearModel(6, 6, 1, 3);
    const x = randomTensor([2, 6, 6, 1], 2) as tf.Tensor4D;
    const cells = patchGrid(6, 6, 3);
    const orders = [
      [3, 1, 0, 2],
      [0, 2, 1, 3],
    ];
    const labels = [1, 2];
    const curve = removalCurve(model, x, labels, cells, orders, [0, 1, 3]);
    [0, 1].forEach((i) => {
      const xi = x.slice([i, 0, 0, 0], [1, -1, -1, -1]);
      [0, 1, 3].forEach((k, j) => {
        const masked = occlude(
          xi,
          orders[i].slice(0, k).map((c) => cells[c]),
          'mean',
        );
        expect(curve.logits[i][j]).toBeCloseTo((model.predict(masked) as tf.Tensor2D).dataSync()[labels[i]], 4);
      });
    });
    expect(curve.meanLogit[0]).toBeCloseTo((curve.logits[0][0] + curve.logits[1][0]) / 2, 6);
  });
});

describe('gradient attribution', () => {
  it('saliency of a linear model is its largest |weight| per pixel; gradient x input and IG sum (x - baseline) * w', () => {
    const model = linearModel(3, 3, 2, 2);
    const x = randomTensor([2, 3, 3, 2], 4) as tf.Tensor4D;
    const W = (model.layers[1].getWeights()[0].arraySync() as number[][]).map((row) => row);
    const sal = new Saliency(model).attribute(x, [0, 1]).values;
    const ig = new IntegratedGradients(model, { steps: 4 }).attribute(x, [0, 1]).values;
    const gxi = new GradientXInput(model).attribute(x, [0, 1]).values;
    const xs = x.dataSync();
    const base = tf.mean(x, [1, 2], true).dataSync(); // [2,1,1,2]
    for (let i = 0; i < 2; i++)
      for (let pixel = 0; pixel < 9; pixel++) {
        const w = [0, 1].map((c) => W[pixel * 2 + c][i]);
        expect(sal[i * 9 + pixel]).toBeCloseTo(Math.max(...w.map(Math.abs)), 5);
        const expected = w.reduce((a, wc, c) => a + (xs[i * 18 + pixel * 2 + c] - base[i * 2 + c]) * wc, 0);
        expect(ig[i * 9 + pixel]).toBeCloseTo(expected, 5);
        expect(gxi[i * 9 + pixel]).toBeCloseTo(expected, 5);
      }
  });

  it('integrated gradients are complete: attributions sum to f(x) - f(baseline) for a smooth model', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [4, 4, 1] }),
        tf.layers.dense({ units: 5, activation: 'tanh', kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) }),
        tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.randomNormal({ seed: 2 }) }),
      ],
    });
    const x = randomTensor([1, 4, 4, 1], 6) as tf.Tensor4D;
    const baseline = tf.mul(tf.mean(x, [1, 2], true), tf.onesLike(x)) as tf.Tensor4D;
    const ig = new IntegratedGradients(model, { steps: 64 }).attribute(x, [1]);
    const sum = ig.values.reduce((a, v) => a + v, 0);
    const diff = (model.predict(x) as tf.Tensor2D).dataSync()[1] - (model.predict(baseline) as tf.Tensor2D).dataSync()[1];
    expect(sum).toBeCloseTo(diff, 3);
  });
});
