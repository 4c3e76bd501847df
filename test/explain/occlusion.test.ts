import * as tf from '@tensorflow/tfjs';
import { occlude } from '../../lib/data/transforms';
import { pairOcclusion, patchGap, planPairs } from '../../lib/explain/occlusion';
import { buildBagNet } from '../../lib/models/bagnet';
import { Rng } from '../../lib/util/rng';
import { randomTensor } from '../models/helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A small non-linear model (conv -> relu -> flatten -> dense): interactions anywhere. */
function nonlinear(size: number, channels: number, classes: number): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [size, size, channels],
        filters: 3,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.randomNormal({ seed: 1 }),
      }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, activation: 'tanh', kernelInitializer: tf.initializers.randomNormal({ seed: 2 }) }),
      tf.layers.dense({ units: classes, kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) }),
    ],
  });
  return m;
}

describe('pair occlusion', () => {
  it('plans pairs at the requested gaps, inside the image, deterministically', () => {
    const plan = planPairs(20, 16, 3, [0, 2, 5, 30], 6, new Rng(1));
    const again = planPairs(20, 16, 3, [0, 2, 5, 30], 6, new Rng(1));
    expect(again).toEqual(plan);
    expect(plan.pairs.length).toBe(18); // gap 30 does not fit
    for (const pr of plan.pairs) {
      const a = plan.singles[pr.a];
      const b = plan.singles[pr.b];
      expect(patchGap(a, b)).toBe(pr.distance);
      for (const p of [a, b]) {
        expect(p.x).toBeGreaterThanOrEqual(0);
        expect(p.y).toBeGreaterThanOrEqual(0);
        expect(p.x + p.width).toBeLessThanOrEqual(16);
        expect(p.y + p.height).toBeLessThanOrEqual(20);
      }
    }
    const keys = plan.singles.map((s) => `${s.y},${s.x}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('matches a literal one-image-at-a-time computation (bookkeeping of singles and pairs)', () => {
    const size = 10;
    const model = nonlinear(size, 2, 3);
    const x = randomTensor([3, size, size, 2], 11) as tf.Tensor4D;
    const targets = [2, 0, 1];
    const rng = new Rng(5);
    const plans = [0, 1, 2].map(() => planPairs(size, size, 2, [0, 1, 3], 3, rng));
    const effects = pairOcclusion(model, x, targets, plans);
    expect(effects.length).toBe(plans.reduce((a, p) => a + p.pairs.length, 0));
    const logit = (img: tf.Tensor4D, t: number) => tf.tidy(() => (model.predict(img) as tf.Tensor2D).dataSync()[t]);
    let e = 0;
    plans.forEach((plan, i) => {
      const xi = x.slice([i, 0, 0, 0], [1, -1, -1, -1]);
      const base = logit(xi, targets[i]);
      for (const pr of plan.pairs) {
        const a = plan.singles[pr.a];
        const b = plan.singles[pr.b];
        const ea = effects[e++];
        expect(ea.image).toBe(i);
        expect(ea.distance).toBe(pr.distance);
        expect(ea.deltaA).toBeCloseTo(base - logit(occlude(xi, [a], 'mean'), targets[i]), 4);
        expect(ea.deltaB).toBeCloseTo(base - logit(occlude(xi, [b], 'mean'), targets[i]), 4);
        expect(ea.deltaAB).toBeCloseTo(base - logit(occlude(xi, [a, b], 'mean'), targets[i]), 4);
      }
    });
  });

  it('a BagNet is exactly additive for masks at least q - 1 apart, and not below', () => {
    const q = 5;
    const size = 16;
    // Default (glorot) weights with identity BatchNorm statistics keep about half of the ReLUs active.
    const model = buildBagNet(
      { family: 'bagnet', q, widths: [4, 4, 4], expansion: 2 },
      { inputShape: [size, size, 1], numClasses: 2 },
      new Rng(2),
    );
    const x = randomTensor([2, size, size, 1], 4, -3, 3) as tf.Tensor4D;
    const rng = new Rng(6);
    const plans = [0, 1].map(() => planPairs(size, size, 3, [0, q - 1, q + 2], 4, rng));
    const effects = pairOcclusion(model, x, [0, 1], plans);
    const far = effects.filter((e) => e.distance >= q - 1);
    expect(far.length).toBeGreaterThan(0);
    const rel = (e: { deltaA: number; deltaB: number; deltaAB: number }) =>
      Math.abs(e.deltaAB - e.deltaA - e.deltaB) / (Math.abs(e.deltaA) + Math.abs(e.deltaB) + 1e-9);
    expect(Math.max(...far.map((e) => Math.abs(e.deltaA) + Math.abs(e.deltaB)))).toBeGreaterThan(1e-2);
    for (const e of far) expect(rel(e)).toBeLessThan(1e-3);
    const near = effects.filter((e) => e.distance === 0);
    expect(Math.max(...near.map(rel))).toBeGreaterThan(0.01);
  });
});
