import * as tf from '@tensorflow/tfjs';
import { createMethod, methodEntry, PrototypeActivations } from '../../lib/explain/index';
import { buildModel } from '../../lib/models/index';
import { setPrototypes, similarityLiteral } from '../../lib/models/prototype';
import { Rng } from '../../lib/util/rng';
import { identityProtoPNet, tinyProtoPNet } from '../models/protopnet-fixture';

/** Prototype activations on the hand-weighted identity ProtoPNet: latent(y, x) = sigmoid(relu(pixel)), 1x1 fields. */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const P0 = [0.9, 0.1];
const P1 = [0.2, 0.8];

/** One 4x4x2 image: pixel (1, 2) = (2, -1) (latent near prototype 0's direction), pixel (3, 0) = (-1, 1.5). */
function image(): tf.Tensor4D {
  const data = new Float32Array(32);
  data.set([2, -1], (1 * 4 + 2) * 2);
  data.set([-1, 1.5], (3 * 4 + 0) * 2);
  return tf.tensor4d(data, [1, 4, 4, 2]);
}

/** The literal similarity map of prototype p on image(): log((d+1)/(d+1e-4)) of the squared distance per pixel. */
function literalMap(p: number[]): number[] {
  const x = image().dataSync();
  return Array.from({ length: 16 }, (_, q) => {
    const z = [0, 1].map((c) => sigmoid(Math.max(0, x[q * 2 + c])));
    return similarityLiteral((z[0] - p[0]) ** 2 + (z[1] - p[1]) ** 2);
  });
}

describe('prototype activations', () => {
  const model = identityProtoPNet();
  setPrototypes(model, Float32Array.from([...P0, ...P1]));
  const method = new PrototypeActivations(model);

  test("a fixed prototype's map is its literal similarity map on a 1x1-field pixel grid", () => {
    const h = method.attribute(image(), [1], { prototype: 0 });
    expect([h.height, h.width]).toEqual([4, 4]);
    expect(h.geometry).toEqual({ y: { size: 1, jump: 1, start: 0 }, x: { size: 1, jump: 1, start: 0 } });
    Array.from(h.values).forEach((v, q) => expect(v).toBeCloseTo(literalMap(P0)[q], 4));
    expect(h.signed).toBe(false);
  });

  test("by default each target gets its class's top prototype (here: the only one), via createMethod", () => {
    const m = createMethod('prototype', model);
    const x = image();
    const h0 = m.attribute(x, [0]);
    const h1 = m.attribute(x, [1]);
    Array.from(h0.values).forEach((v, q) => expect(v).toBeCloseTo(literalMap(P0)[q], 4));
    Array.from(h1.values).forEach((v, q) => expect(v).toBeCloseTo(literalMap(P1)[q], 4));
    // Prototype 0's map peaks at pixel (1, 2), whose latent is closest to it.
    const peak = h0.values.indexOf(Math.max(...h0.values));
    expect([Math.floor(peak / 4), peak % 4]).toEqual([1, 2]);
  });

  test('top prototypes rank by points = weight x max similarity', () => {
    const maps = method.similarityMaps(image());
    const max = [P0, P1].map((p) => Math.max(...literalMap(p)));
    // Last layer: +1 own class, -0.5 other. For class 0: points (max0, -0.5 max1).
    expect(method.topPrototypes(maps, 0, 0, 2)).toEqual(max[0] >= -0.5 * max[1] ? [0, 1] : [1, 0]);
    const kernel = tf.tensor2d([-2, 1, 3, 1], [2, 2]); // class 0: prototype 1 now earns 3 * max1 > -2 * max0
    model.getLayer('logits').setWeights([kernel]);
    expect(method.topPrototypes(maps, 0, 0, 1)).toEqual([1]);
    const restore = tf.tensor2d([1, -0.5, -0.5, 1], [2, 2]);
    model.getLayer('logits').setWeights([restore]);
    tf.dispose([kernel, restore]);
  });

  test('refuses a model without prototypes and an unknown prototype index', () => {
    const cnn = buildModel({ family: 'gap', widths: [2] }, { inputShape: [4, 4, 2], numClasses: 2 }, new Rng(1));
    expect(() => createMethod('prototype', cnn)).toThrow(/needs a ProtoPNet/);
    expect(() => method.attribute(image(), [0], { prototype: 2 })).toThrow(/prototype 2 does not exist \(the model has 0\.\.1\)/);
  });
});

describe('feature-map methods on a ProtoPNet', () => {
  test('Grad-CAM says why it cannot place its maps (no receptive-field rule for the prototype layer); CAM needs a GAP head', () => {
    const { model, context } = tinyProtoPNet();
    expect(methodEntry('grad-cam').problem(model, context)).toMatch(
      /receptive field lib\/models\/rf\.ts cannot compute .*no rule for layer/,
    );
    expect(() => createMethod('grad-cam', model, context)).toThrow(/cannot explain this model: it has a layer whose receptive field/);
    expect(methodEntry('cam').problem(model, context)).toMatch(/global-average-pooling -> dense head/);
    // The methods that need no feature geometry still apply.
    expect(methodEntry('saliency').problem(model, context)).toBeNull();
    model.dispose();
  });
});
